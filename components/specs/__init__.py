"""Declaration parsing: YAML in `services/` → typed specs, with errors naming file, line and field."""

from components.specs.errors import DeclarationError, DeclarationErrors
from components.specs.loader import Declaration, load_declarations

__all__ = ["Declaration", "DeclarationError", "DeclarationErrors", "load_declarations"]

# marker: the policy lives in ../../protocol_pack/__main__.py

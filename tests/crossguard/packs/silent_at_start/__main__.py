"""Never serves: blocks before constructing PolicyPack, like a pack stuck on a lock or a network call."""

import time

while True:
    time.sleep(3600)

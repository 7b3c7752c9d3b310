"""CampusGuard hardware support: the Raspberry Pi sensor node (:mod:`hardware.pinode`)."""

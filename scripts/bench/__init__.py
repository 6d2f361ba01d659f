"""`make bench`: FusionHub measured at a region's real size, on this machine, as production runs it."""

"""The process itself: start-up objects kept out of the garbage collector's reach
(:mod:`.collector`) and the event loop's lag (:mod:`.lag`)."""

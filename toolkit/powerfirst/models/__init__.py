"""Models: pure functions on cubes (lazy where the input is), no file I/O, no plotting."""

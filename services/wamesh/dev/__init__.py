"""`wamesh dev`: the whole mesh on one machine, and the private servers it (and the tests) start."""

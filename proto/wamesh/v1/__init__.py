"""Generated wire types of wamesh (proto/wamesh/v1/*.proto); regenerate with `make proto`."""

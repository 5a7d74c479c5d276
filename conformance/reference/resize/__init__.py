"""Reference resize (placeholder: the dispatcher ``resize(image, step)`` is being written)."""

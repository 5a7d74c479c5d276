"""The way back: from a model's output tensor to pixels (and optionally a file).

``tensor`` reads a ``.npy`` input into (H, W, C); ``denormalize`` undoes a normalisation;
``quantize`` turns floats into integer pixels with every library's choices as knobs; ``encode``
writes a PNG or JPEG and reads it back. ``layout`` and ``color`` are the way in's own ops.
"""

"""WebP: the RIFF container and ALPH chunk (RFC 9649), lossless VP8L (RFC 9649), lossy VP8
(RFC 6386) and libwebp's YUV -> RGB conversion, written from the specifications and checked
bit-exact against libwebp through Pillow and OpenCV."""

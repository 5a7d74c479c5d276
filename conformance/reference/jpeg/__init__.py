"""Reference JPEG decoder (ITU-T T.81), written from the standard; no libjpeg, Pillow or OpenCV.

- :mod:`.model`: the entropy-decoded image (frame, metadata, quantised coefficients).
- :mod:`.idct`: inverse DCTs (libjpeg-turbo islow, exact float, zune-jpeg's integer IDCT).
- :mod:`.smoothing`: libjpeg-turbo's inter-block smoothing of incomplete progressive files.
- :mod:`.upsample`: chroma upsampling (libjpeg-turbo fancy, replication, zune-jpeg's).
- :mod:`.colorconvert`: the file's colour space and YCbCr/CMYK/YCCK conversions.
- :mod:`.reconstruct`: :func:`reconstruct`, coefficients -> (H, W, C) uint8 under the knobs.
- :mod:`.markers`: marker segments (T.81 Annex B): finding them, parsing and range-checking each.
- :mod:`.entropy`: Huffman tables (Annex C) and scan decoding (F.2.2 sequential, G.1.2
  progressive), numba-compiled.
- :mod:`.lossless`: lossless scans (SOF3, T.81 Annex H): differences and prediction, as
  libjpeg-turbo 3 decodes them, numba-compiled.
- :mod:`.reader`: :func:`read_jpeg`, file -> :class:`JpegImage` (what is accepted, what not).
"""

from .model import Component, JpegImage
from .reader import read_jpeg
from .reconstruct import reconstruct

__all__ = ["Component", "JpegImage", "read_jpeg", "reconstruct"]

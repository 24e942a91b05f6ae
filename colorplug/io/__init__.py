"""Files in and out: the Picture type, decoding (Pillow, tifffile), EXIF, encoding, atomic writes."""

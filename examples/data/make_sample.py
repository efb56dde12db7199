#!/usr/bin/env python3
"""Draw examples/data/sample.png: a simple synthetic street scene (sky, sun, hills, trees,
road, grass), 320x240, standard library only. Deterministic."""

import math
import struct
import sys
import zlib

W, H = 320, 240


def pixel(x, y):
    horizon = 110 + 12 * math.sin(x / 37.0) + 6 * math.sin(x / 13.0 + 1.0)
    # Sky: vertical gradient, with a sun.
    if y < horizon:
        t = y / horizon
        r, g, b = 90 + 80 * t, 150 + 60 * t, 235 - 10 * t
        d = math.hypot(x - 250, y - 45)
        if d < 22:
            r, g, b = 255, 236, 140
        elif d < 30:
            k = (30 - d) / 8
            r, g, b = r + (255 - r) * k, g + (236 - g) * k, b + (140 - b) * k
    else:
        # Grass with a little texture.
        n = math.sin(x * 12.9898 + y * 78.233) * 43758.5453
        n = n - math.floor(n)
        r, g, b = 70 + 25 * n, 140 + 30 * n, 60 + 15 * n
        # Road: a trapezoid narrowing to the horizon.
        top, bottom = 150, 239
        if y >= top:
            t = (y - top) / (bottom - top)
            half = 6 + 110 * t
            if abs(x - 160) < half:
                r, g, b = 105, 105, 110
                if abs(x - 160) < 1 + 2 * t and (y // 8) % 2 == 0:
                    r, g, b = 245, 245, 235
    # Trees: brown trunks and dark green crowns along the horizon.
    for cx, cy, rad in ((40, 95, 26), (85, 105, 18), (285, 100, 22), (215, 112, 14)):
        if abs(x - cx) < rad / 6 and cy < y < cy + rad * 1.5:
            r, g, b = 100, 70, 40
        if math.hypot(x - cx, (y - cy) * 1.1) < rad:
            shade = 0.8 + 0.2 * math.sin((x + y) / 5.0)
            r, g, b = 35 * shade, 105 * shade, 45 * shade
    return bytes(max(0, min(255, int(v))) for v in (r, g, b))


def main(path):
    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(W)) for y in range(H))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/data/sample.png")

#!/usr/bin/env python3
"""Checks that a PNG that `nnkit plot` drew has a curve's pixels where the
data says: decodes the PNG itself (zlib and PNG's filters, no imaging
library), maps each (x, y) through the panel geometry of tools/plot.c and
looks for the run's colour within 3 pixels; a control point off the curve
must have none; with --clear, no black pixel (text, a legend's frame)
lies inside the data area, away from the axes' ticks. --panel=I,COLS,ROWS
picks panel I of a figure of COLS x ROWS panels. Usage: png_curve.py
[--clear] [--panel=I,COLS,ROWS] FILE.png X0 X1 Y0 Y1 R,G,B x,y... -- cx,cy"""
import struct
import sys
import zlib

VP_X0, VP_X1, VP_Y0, VP_Y1 = 0.12, 0.68, 0.20, 0.86


def decode(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat = 8, b''
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width, height, depth, colour = struct.unpack('>IIBB', body[:10])
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    assert depth == 8 and colour in (2, 6), 'unexpected PNG format'
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev, p = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp), 0
    for _ in range(height):
        kind, line = raw[p], bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                q = a + b - c
                pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def near(img, x, y, rgb):
    width, height, bpp, rows = img
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            px, py = x + dx, y + dy
            if 0 <= px < width and 0 <= py < height and tuple(rows[py][px * bpp:px * bpp + 3]) == rgb:
                return True
    return False


def main():
    args = sys.argv[1:]
    clear = '--clear' in args
    args = [a for a in args if a != '--clear']
    index, cols, rows = 0, 1, 1
    for a in list(args):
        if a.startswith('--panel='):
            index, cols, rows = map(int, a[8:].split(','))
            args.remove(a)
    path, x0, x1, y0, y1, rgb = args[0], *map(float, args[1:5]), tuple(map(int, args[5].split(',')))
    cut = args.index('--')
    points = [tuple(map(float, a.split(','))) for a in args[6:cut]]
    controls = [tuple(map(float, a.split(','))) for a in args[cut + 1:]]
    img = decode(path)
    pw, ph = img[0] / cols, img[1] / rows
    left, top = pw * (index % cols), ph * (index // cols)

    def pixel(x, y):
        return (round(left + pw * (VP_X0 + (VP_X1 - VP_X0) * (x - x0) / (x1 - x0))),
                round(top + ph * (1 - (VP_Y0 + (VP_Y1 - VP_Y0) * (y - y0) / (y1 - y0)))))
    missing = [pt for pt in points if not near(img, *pixel(*pt), rgb)]
    stray = [pt for pt in controls if near(img, *pixel(*pt), rgb)]
    covered = []
    if clear:  # the data area less 12 pixels at each side (the ticks)
        width, height, bpp, pixels = img
        xa, xb = round(left + pw * VP_X0) + 12, round(left + pw * VP_X1) - 12
        ya, yb = round(top + ph * (1 - VP_Y1)) + 12, round(top + ph * (1 - VP_Y0)) - 12
        covered = [(px, py) for py in range(ya, yb) for px in range(xa, xb)
                   if tuple(pixels[py][px * bpp:px * bpp + 3]) == (0, 0, 0)][:3]
    if missing or stray or covered:
        print(f'curve pixels missing at {missing}, present off the curve at {stray}; black inside the data at {covered}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

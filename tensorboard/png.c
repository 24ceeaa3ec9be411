/* PNG encoding with zlib (deflate and CRC-32): 8-bit grey, RGB or RGBA,
 * filter type 0 on every row. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends a chunk (length, type, data, CRC over type and data). */
static uint8_t *chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t n)
{
    put_be32(out, n);
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uLong crc = crc32(0, out + 4, 4 + n);
    put_be32(out + 8 + n, (uint32_t)crc);
    return out + 12 + n;
}

int nnk_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **png,
                   size_t *size, nnk_err *err)
{
    static const uint8_t color_type[5] = {0, 0, 4, 2, 6}; /* by channels */
    if (width < 1 || height < 1 || width > 1 << 16 || height > 1 << 16 ||
        (channels != 1 && channels != 3 && channels != 4))
        return tb_err(err, NNK_EUSAGE, "png: unsupported image %dx%d with %d channels", width,
                      height, channels);
    size_t stride = (size_t)width * (size_t)channels;
    size_t raw_n = (stride + 1) * (size_t)height;
    uint8_t *raw = malloc(raw_n);
    uLongf z_n = compressBound((uLong)raw_n);
    uint8_t *z = malloc(z_n);
    uint8_t *out = malloc(z_n + 64);
    if (!raw || !z || !out) {
        free(raw), free(z), free(out);
        return tb_err(err, NNK_ENOMEM, "out of memory");
    }
    for (int y = 0; y < height; y++) {
        raw[(size_t)y * (stride + 1)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * (stride + 1) + 1, pixels + (size_t)y * stride, stride);
    }
    int zrc = compress2(z, &z_n, raw, (uLong)raw_n, Z_BEST_COMPRESSION);
    free(raw);
    if (zrc != Z_OK) {
        free(z), free(out);
        return tb_err(err, NNK_ERUNTIME, "png: deflate failed (%d)", zrc);
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13];
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;
    ihdr[9] = color_type[channels];
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    memcpy(out, sig, 8);
    uint8_t *p = chunk(out + 8, "IHDR", ihdr, 13);
    p = chunk(p, "IDAT", z, (uint32_t)z_n);
    p = chunk(p, "IEND", NULL, 0);
    free(z);
    *png = out;
    *size = (size_t)(p - out);
    return NNK_OK;
}

/* Captions drawn into images: a 3x5 pixel font (digits, capital letters,
 * a few signs; small letters drawn as capitals), each glyph doubled, so
 * class names read under 28-pixel samples without a font library. */
#include "tensorboard.h"
#include <ctype.h>
#include <string.h>

/* One row of three bits per entry, top row first. */
static const struct {
    char c;
    unsigned char rows[5];
} glyphs[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}},
    {'C', {3, 4, 4, 4, 3}}, {'D', {6, 5, 5, 5, 6}}, {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}},
    {'G', {3, 4, 5, 5, 3}}, {'H', {5, 5, 7, 5, 5}}, {'I', {7, 2, 2, 2, 7}}, {'J', {1, 1, 1, 5, 2}},
    {'K', {5, 5, 6, 5, 5}}, {'L', {4, 4, 4, 4, 7}}, {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}},
    {'O', {2, 5, 5, 5, 2}}, {'P', {6, 5, 6, 4, 4}}, {'Q', {2, 5, 5, 6, 3}}, {'R', {6, 5, 6, 5, 5}},
    {'S', {3, 4, 2, 1, 6}}, {'T', {7, 2, 2, 2, 2}}, {'U', {5, 5, 5, 5, 7}}, {'V', {5, 5, 5, 5, 2}},
    {'W', {5, 5, 7, 7, 5}}, {'X', {5, 5, 2, 5, 5}}, {'Y', {5, 5, 2, 2, 2}}, {'Z', {7, 1, 2, 4, 7}},
    {'/', {1, 1, 2, 4, 4}}, {'-', {0, 0, 7, 0, 0}}, {'.', {0, 0, 0, 0, 2}}, {'_', {0, 0, 0, 0, 7}},
    {' ', {0, 0, 0, 0, 0}},
};
static const unsigned char unknown[5] = {7, 1, 2, 0, 2}; /* '?' for the rest */

static const unsigned char *glyph(char ch)
{
    char c = (char)toupper((unsigned char)ch);
    for (size_t i = 0; i < sizeof glyphs / sizeof glyphs[0]; i++)
        if (glyphs[i].c == c)
            return glyphs[i].rows;
    return unknown;
}

int tb_caption_width(const char *text)
{
    int n = (int)strlen(text);
    return n ? n * 4 * TB_CAPTION_SCALE - TB_CAPTION_SCALE : 0;
}

void tb_draw_caption(uint8_t *rgb, int stride_px, int height_px, int x0, int y0, const char *text, const uint8_t color[3])
{
    for (int i = 0; text[i]; i++) {
        const unsigned char *g = glyph(text[i]);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++)
                if (g[r] & (4 >> c))
                    for (int dy = 0; dy < TB_CAPTION_SCALE; dy++)
                        for (int dx = 0; dx < TB_CAPTION_SCALE; dx++) {
                            int x = x0 + (i * 4 + c) * TB_CAPTION_SCALE + dx, y = y0 + r * TB_CAPTION_SCALE + dy;
                            if (x >= 0 && x < stride_px && y >= 0 && y < height_px)
                                memcpy(rgb + 3 * ((size_t)y * (size_t)stride_px + (size_t)x), color, 3);
                        }
    }
}

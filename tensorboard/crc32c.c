/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and TensorBoard's
 * record mask. Table-driven (slicing by 8), or the SSE4.2 crc32
 * instruction where the CPU has it. */
#include <nnkit/tensorboard.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    table_ready = 1;
}

uint32_t nnk_crc32c_table(const void *data, size_t n)
{
    if (!table_ready) /* idempotent: racing builders write the same values */
        build_table();
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= c; /* little-endian load */
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
            table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
            table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return c ^ 0xFFFFFFFFu;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) uint32_t nnk_crc32c_sse42(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32 ^ 0xFFFFFFFFu;
}

int nnk_crc32c_have_sse42(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}
#else
uint32_t nnk_crc32c_sse42(const void *data, size_t n) { return nnk_crc32c_table(data, n); }
int nnk_crc32c_have_sse42(void) { return 0; }
#endif

uint32_t nnk_crc32c(const void *data, size_t n)
{
    static int mode = -1; /* -1 unknown, 0 table, 1 sse4.2 */
    if (mode < 0)
        mode = nnk_crc32c_have_sse42();
    return mode ? nnk_crc32c_sse42(data, n) : nnk_crc32c_table(data, n);
}

uint32_t nnk_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

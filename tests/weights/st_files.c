/* nftw() */
#define _XOPEN_SOURCE 700
#include "st_files.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

const char *st_temp_path(const char *name)
{
    static char buf[8][4096];
    static int slot;
    char *out = buf[slot++ & 7];
    snprintf(out, 4096, "%s/%s", cm_test_tmpdir(), name);
    return out;
}

int st_write_raw(const char *path, const char *header, long long length_field, const void *data, size_t data_len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned long long n = length_field < 0 ? strlen(header) : (unsigned long long)length_field;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(n >> (8 * i));
    int ok = fwrite(len, 1, 8, f) == 8 && fwrite(header, 1, strlen(header), f) == strlen(header) &&
             (data_len == 0 || fwrite(data, 1, data_len, f) == data_len);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

int st_append_tensor(const char *src, const char *dst, const char *name, const char *dtype, const char *shape_json,
                     const void *bytes, size_t n)
{
    size_t size;
    unsigned char *file = read_all(src, &size);
    if (!file || size < 8) return -1;
    unsigned long long header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | file[i];
    size_t data_len = size - 8 - header_len;
    char *header = malloc(header_len + 4096);
    memcpy(header, file + 8, header_len);
    size_t h = header_len;
    while (h > 0 && header[h - 1] == ' ') h--; /* drop the padding, then the closing brace */
    h--;
    snprintf(header + h, 4096, ",\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}}", name, dtype,
             shape_json, data_len, data_len + n);
    unsigned char *data = malloc(data_len + n + 1);
    memcpy(data, file + 8 + header_len, data_len);
    memcpy(data + data_len, bytes, n);
    int rc = st_write_raw(dst, header, -1, data, data_len + n);
    free(data);
    free(header);
    free(file);
    return rc;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void st_remove_temp_dir(void) { nftw(cm_test_tmpdir(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

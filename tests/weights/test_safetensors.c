/* safetensors reader and writer: round trips in every float dtype, and a
 * catalogue of malformed files, each of which must be rejected with a
 * message naming the file, the tensor and the problem. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/half.h"
#include "clipmtl/safetensors.h"
#include "st_files.h"
#include "test_util.h"

static const float special[] = {0.0f,     -0.0f,  1.0f,    -2.5f,  0x1p-24f, -0x1p-20f, 65504.0f, 70000.0f,
                                1e-8f,    3.14159265f, INFINITY, -INFINITY, NAN,      0x1.8p-133f, 1e38f, -1e-3f};

static void build_table(cm_tensor_table *t, float **buffer)
{
    cm_table_init(t);
    int64_t s_a[2] = {4, 4}, s_d[1] = {3}, s_c[1] = {0};
    cm_table_add(t, "layer.a \"quoted\"", 2, s_a, NULL);
    cm_table_add(t, "scalar", 0, NULL, NULL);
    cm_table_add(t, "empty", 1, s_c, NULL);
    cm_table_add(t, "d", 1, s_d, NULL);
    *buffer = calloc(t->total, sizeof **buffer);
    memcpy(*buffer, special, sizeof special);
    (*buffer)[16] = 0.5f;
    (*buffer)[17] = -7.0f;
    (*buffer)[18] = 1e-30f;
    (*buffer)[19] = 123456.789f;
}

static float stored(float x, cm_dtype dtype)
{
    if (dtype == CM_DTYPE_F16) return cm_f16_to_f32(cm_f32_to_f16(x));
    if (dtype == CM_DTYPE_BF16) return cm_bf16_to_f32(cm_f32_to_bf16(x));
    return x;
}

static int same_float(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0; }

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_round_trip(void)
{
    cm_tensor_table t;
    float *buffer;
    build_table(&t, &buffer);
    const cm_dtype dtypes[] = {CM_DTYPE_F32, CM_DTYPE_F16, CM_DTYPE_BF16};
    cm_st_metadata meta[] = {{"note", "a \"quoted\" value\n"}};
    int entries_before = count_dir_entries(cm_test_tmpdir());
    for (int k = 0; k < 3; k++) {
        const char *path = st_temp_path("round_trip.safetensors");
        CM_TEST_OK(cm_safetensors_write(path, &t, buffer, dtypes[k], meta, 1));
        /* Writing twice replaces the file in place. */
        CM_TEST_OK(cm_safetensors_write(path, &t, buffer, dtypes[k], meta, 1));
        cm_safetensors st;
        CM_TEST_OK(cm_safetensors_open(&st, path));
        CM_TEST(st.count == 4 && st.header_len % 8 == 0, "%s: 4 tensors, padded header (%d, %zu)",
                cm_dtype_name(dtypes[k]), st.count, st.header_len);
        CM_TEST(strcmp(cm_safetensors_metadata(&st, "format") ?: "", "pt") == 0, "format metadata");
        CM_TEST(strcmp(cm_safetensors_metadata(&st, "note") ?: "", "a \"quoted\" value\n") == 0, "escaped metadata");
        int bad = 0;
        for (int i = 0; i < t.count; i++) {
            const cm_tensor_desc *d = &t.entries[i];
            const cm_st_tensor *s = cm_safetensors_find(&st, d->name);
            CM_TEST(s && s == &st.tensors[i], "%s found in header order", d->name);
            if (!s) continue;
            CM_TEST(s->dtype == dtypes[k] && s->ndim == d->ndim && s->numel == d->numel, "%s: dtype, shape", d->name);
            float *got = malloc((d->numel + 1) * sizeof *got);
            CM_TEST_OK(cm_safetensors_read_f32(&st, s, got));
            for (size_t j = 0; j < d->numel; j++)
                if (!same_float(got[j], stored(buffer[d->offset + j], dtypes[k]))) {
                    if (bad++ < 5)
                        printf("%s %s[%zu]: got %a want %a\n", cm_dtype_name(dtypes[k]), d->name, j, got[j],
                               stored(buffer[d->offset + j], dtypes[k]));
                }
            free(got);
        }
        CM_TEST(bad == 0, "%s: %d values differ from the rounding of the originals", cm_dtype_name(dtypes[k]), bad);
        CM_TEST(cm_safetensors_find(&st, "absent") == NULL, "absent name");
        cm_safetensors_close(&st);
    }
    CM_TEST(count_dir_entries(cm_test_tmpdir()) == entries_before + 1, "no temporary file left behind");
    CM_TEST(cm_safetensors_write("/nonexistent-dir/x.safetensors", &t, buffer, CM_DTYPE_F32, NULL, 0) == CM_ERR_IO &&
                strstr(cm_error_message(), "/nonexistent-dir/x.safetensors"),
            "unwritable path: %s", cm_error_message());
    cm_error_clear();
    CM_TEST(cm_safetensors_write(st_temp_path("i64.safetensors"), &t, buffer, CM_DTYPE_I64, NULL, 0) == CM_ERR_ARG,
            "integer dtypes cannot be written");
    cm_error_clear();
    free(buffer);
    cm_table_free(&t);
}

typedef struct {
    const char *name;
    const char *header;
    long long length_field; /* -1: the header's length */
    size_t data_len;        /* bytes of data after the header */
    const char *expect[3];  /* substrings of the message */
} bad_file;

#define T8 "\"dtype\":\"F32\",\"shape\":[2]"

static void test_malformed(void)
{
    const bad_file cases[] = {
        {"header_past_end", "{}", 1000, 0, {"header length 1000 runs past the end of the file"}},
        {"header_absurd", "{}", 1LL << 40, 0, {"header length 1099511627776 exceeds"}},
        {"not_json", "hello world", -1, 0, {"not a JSON object"}},
        {"json_array", "[{}]", -1, 0, {"not a JSON object"}},
        {"bad_json", "{\"a\":", -1, 0, {"JSON header: byte 5", "unexpected end of input"}},
        {"bad_dtype", "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", -1, 8,
         {"tensor \"w\"", "unsupported dtype \"F64\""}},
        {"dtype_number", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4,
         {"tensor \"w\"", "dtype must be a string"}},
        {"offsets_out_of_range", "{\"w\":{" T8 ",\"data_offsets\":[0,8]}}", -1, 6,
         {"tensor \"w\"", "[0, 8] run past the data section (6 bytes)"}},
        {"offsets_far_out", "{\"w\":{" T8 ",\"data_offsets\":[9223372036854775800,0]}}", -1, 8,
         {"tensor \"w\"", "begin is after end"}},
        {"offsets_huge", "{\"w\":{" T8 ",\"data_offsets\":[0,18446744073709551615]}}", -1, 8,
         {"tensor \"w\"", "data_offsets must hold integers in [0, 2^63)"}},
        {"begin_after_end", "{\"w\":{" T8 ",\"data_offsets\":[8,0]}}", -1, 8, {"tensor \"w\"", "begin is after end"}},
        {"overlap", "{\"a\":{" T8 ",\"data_offsets\":[0,8]},\"b\":{" T8 ",\"data_offsets\":[4,12]}}", -1, 12,
         {"tensor \"b\"", "overlaps tensor \"a\""}},
        {"same_range", "{\"a\":{" T8 ",\"data_offsets\":[0,8]},\"b\":{" T8 ",\"data_offsets\":[0,8]}}", -1, 8,
         {"overlaps tensor"}},
        {"gap", "{\"a\":{" T8 ",\"data_offsets\":[0,8]},\"b\":{" T8 ",\"data_offsets\":[12,20]}}", -1, 20,
         {"tensor \"b\"", "4 unused bytes"}},
        {"trailing", "{\"a\":{" T8 ",\"data_offsets\":[0,8]}}", -1, 12, {"cover 8 bytes of the 12-byte data section"}},
        {"size_mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 8,
         {"tensor \"w\"", "hold 8 bytes but F32 [3] needs 12"}},
        {"shape_overflow", "{\"w\":{\"dtype\":\"F16\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,2]}}", -1,
         2, {"tensor \"w\"", "too many elements"}},
        {"shape_overflow_bytes", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}",
         -1, 4, {"tensor \"w\"", "too many elements"}},
        {"shape_negative", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4,
         {"tensor \"w\"", "shape must hold integers in [0, 2^63)"}},
        {"shape_fraction", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", -1, 4,
         {"tensor \"w\"", "shape must hold integers in [0, 2^63)"}},
        {"shape_nine_dims", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", -1, 4,
         {"tensor \"w\"", "9 dimensions"}},
        {"duplicate", "{\"w\":{" T8 ",\"data_offsets\":[0,8]},\"w\":{" T8 ",\"data_offsets\":[8,16]}}", -1, 16,
         {"duplicate key \"w\""}},
        {"unknown_field", "{\"w\":{" T8 ",\"data_offsets\":[0,8],\"extra\":1}}", -1, 8,
         {"tensor \"w\"", "unknown field \"extra\""}},
        {"missing_field", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", -1, 8,
         {"tensor \"w\"", "missing field \"shape\""}},
        {"offsets_one", "{\"w\":{" T8 ",\"data_offsets\":[0]}}", -1, 8, {"tensor \"w\"", "[begin, end]"}},
        {"entry_not_object", "{\"w\":[1,2]}", -1, 0, {"tensor \"w\"", "expected an object"}},
        {"metadata_not_strings", "{\"__metadata__\":{\"k\":1}}", -1, 0, {"__metadata__ \"k\" must be a string"}},
        {"metadata_not_object", "{\"__metadata__\":\"x\"}", -1, 0, {"__metadata__ must be an object"}},
    };
    unsigned char data[64];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 37);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_file *c = &cases[i];
        char name[128];
        snprintf(name, sizeof name, "%s.safetensors", c->name);
        const char *path = st_temp_path(name);
        if (st_write_raw(path, c->header, c->length_field, data, c->data_len) != 0) {
            CM_TEST(0, "cannot write %s", path);
            continue;
        }
        cm_safetensors st;
        cm_err err = cm_safetensors_open(&st, path);
        const char *msg = cm_error_message();
        int ok = err == CM_ERR_FORMAT && strstr(msg, name);
        for (int k = 0; k < 3 && c->expect[k]; k++) ok = ok && strstr(msg, c->expect[k]);
        CM_TEST(ok, "%s: expected [%s] [%s], got: %s", c->name, c->expect[0], c->expect[1] ? c->expect[1] : "", msg);
        CM_TEST(st.tensors == NULL && st.map == NULL, "%s: a failed open releases everything", c->name);
        cm_error_clear();
    }
    /* Files too short to hold the header length. */
    for (size_t n = 0; n < 8; n++) {
        const char *path = st_temp_path("short.safetensors");
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
        cm_safetensors st;
        char want[64];
        snprintf(want, sizeof want, "truncated: %zu bytes", n);
        CM_TEST(cm_safetensors_open(&st, path) == CM_ERR_FORMAT && strstr(cm_error_message(), want) &&
                    strstr(cm_error_message(), "short.safetensors"),
                "%zu-byte file: %s", n, cm_error_message());
        cm_error_clear();
    }
    cm_safetensors st;
    CM_TEST(cm_safetensors_open(&st, st_temp_path("absent.safetensors")) == CM_ERR_IO &&
                strstr(cm_error_message(), "absent.safetensors"),
            "missing file: %s", cm_error_message());
    cm_error_clear();
    CM_TEST(cm_safetensors_open(&st, cm_test_tmpdir()) == CM_ERR_IO, "a directory is not a file");
    cm_error_clear();
}

/* Every truncation of a valid file fails cleanly; each is parsed from an
 * exact-size heap copy, so a read past the end shows under ASan. */
static void test_every_truncation(void)
{
    cm_tensor_table t;
    float *buffer;
    build_table(&t, &buffer);
    const char *path = st_temp_path("whole.safetensors");
    CM_TEST_OK(cm_safetensors_write(path, &t, buffer, CM_DTYPE_F16, NULL, 0));
    FILE *f = fopen(path, "rb");
    unsigned char whole[4096];
    size_t size = fread(whole, 1, sizeof whole, f);
    fclose(f);
    int accepted = 0;
    for (size_t n = 0; n <= size; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, whole, n);
        cm_safetensors st;
        if (cm_safetensors_open_memory(&st, copy, n, "prefix") == CM_OK) {
            accepted += n < size;
            cm_safetensors_close(&st);
        } else if (n == size) {
            CM_TEST(0, "the whole file must open: %s", cm_error_message());
        }
        cm_error_clear();
        free(copy);
    }
    CM_TEST(accepted == 0, "%d truncations of a %zu-byte file were accepted", accepted, size);
    free(buffer);
    cm_table_free(&t);
}

static void test_integer_tensors(void)
{
    const char *src = st_temp_path("floats.safetensors"), *dst = st_temp_path("with_ids.safetensors");
    float one[2] = {1, 2};
    CM_TEST(st_write_raw(src, "{\"w\":{" T8 ",\"data_offsets\":[0,8]}}", -1, one, 8) == 0, "write");
    int64_t ids[3] = {0, 1, 2};
    CM_TEST(st_append_tensor(src, dst, "position_ids", "I64", "[1,3]", ids, sizeof ids) == 0, "append");
    cm_safetensors st;
    CM_TEST_OK(cm_safetensors_open(&st, dst));
    const cm_st_tensor *p = cm_safetensors_find(&st, "position_ids");
    CM_TEST(p && p->dtype == CM_DTYPE_I64 && p->numel == 3, "I64 tensor accepted in the file");
    float out[3];
    CM_TEST(p && cm_safetensors_read_f32(&st, p, out) == CM_ERR_FORMAT &&
                strstr(cm_error_message(), "\"position_ids\" has integer dtype I64"),
            "reading integers as floats: %s", cm_error_message());
    cm_error_clear();
    float w[2];
    CM_TEST_OK(cm_safetensors_read_f32(&st, cm_safetensors_find(&st, "w"), w));
    CM_TEST(w[0] == 1 && w[1] == 2, "float tensor beside it reads");
    cm_safetensors_close(&st);
}

int main(void)
{
    test_round_trip();
    test_malformed();
    test_every_truncation();
    test_integer_tensors();
    st_remove_temp_dir();
    return cm_test_summary();
}

/* The strict JSON parser: values it must accept and decode exactly, inputs
 * it must reject with a message naming the problem and its byte offset, and
 * every truncation of a valid document, each parsed from an exact-size copy
 * so that an out-of-bounds read cannot go unnoticed under AddressSanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/json.h"
#include "test_util.h"

/* Parses a heap copy of exactly len bytes (no terminator). */
static cm_err parse_exact(cm_json_doc *doc, const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    cm_err err = cm_json_parse(doc, copy, len, "test.json", 0);
    /* Strings live in the document, not in the input: free the input first. */
    free(copy);
    return err;
}

static void test_values(void)
{
    const char *text =
        " {\"a\": [1, -2, 3.5, -0.25e2, 1E+2, 0], \"s\": \"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\","
        " \"t\": true, \"f\": false, \"n\": null, \"max\": 9223372036854775807, \"min\": -9223372036854775808,"
        " \"big\": 9223372036854775808, \"nested\": {\"x\": [[], {}]}, \"utf8\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}   ";
    cm_json_doc d;
    CM_TEST_OK(parse_exact(&d, text, strlen(text)));
    const cm_json_node *root = cm_json_root(&d);
    CM_TEST(root && root->type == CM_JSON_OBJECT && root->count == 10, "root object with 10 members");
    const cm_json_node *a = cm_json_get(&d, root, "a");
    CM_TEST(a && a->type == CM_JSON_ARRAY && a->count == 6, "array of 6");
    const double want[] = {1, -2, 3.5, -25, 100, 0};
    const int integral[] = {1, 1, 0, 0, 0, 1};
    int i = 0;
    for (const cm_json_node *v = cm_json_first(&d, a); v; v = cm_json_next(&d, v), i++) {
        CM_TEST(v->type == CM_JSON_NUMBER && v->number == want[i], "a[%d] = %g, want %g", i, v->number, want[i]);
        CM_TEST(v->is_integer == integral[i], "a[%d] integer flag %d", i, v->is_integer);
    }
    const cm_json_node *s = cm_json_get(&d, root, "s");
    const char want_s[] = "q\"b\\s/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80";
    CM_TEST(s && s->length == sizeof want_s - 1 && memcmp(s->string, want_s, sizeof want_s) == 0,
            "escapes and surrogate pair decode to UTF-8");
    CM_TEST(cm_json_get(&d, root, "t")->type == CM_JSON_TRUE && cm_json_get(&d, root, "f")->type == CM_JSON_FALSE &&
                cm_json_get(&d, root, "n")->type == CM_JSON_NULL, "literals");
    const cm_json_node *mx = cm_json_get(&d, root, "max"), *mn = cm_json_get(&d, root, "min");
    CM_TEST(mx->is_integer && mx->integer == INT64_MAX, "int64 max exact");
    CM_TEST(mn->is_integer && mn->integer == INT64_MIN, "int64 min exact");
    CM_TEST(!cm_json_get(&d, root, "big")->is_integer, "2^63 does not fit int64");
    CM_TEST(strcmp(cm_json_get(&d, root, "utf8")->string, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == 0, "raw UTF-8 kept");
    const cm_json_node *x = cm_json_get(&d, cm_json_get(&d, root, "nested"), "x");
    CM_TEST(x && x->count == 2 && cm_json_first(&d, x)->type == CM_JSON_ARRAY, "nested containers");
    CM_TEST(cm_json_get(&d, root, "absent") == NULL, "absent key");
    CM_TEST(cm_json_root(&d)->offset == 1 && a->offset == 7, "byte offsets recorded (%zu, %zu)", root->offset, a->offset);
    cm_json_free(&d);
}

typedef struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *message; /* expected in the error */
    long offset;         /* expected "byte N", or -1 */
} bad_case;

static void test_rejections(void)
{
    static char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    static char long_number[80];
    memset(long_number, '1', 70);
    const bad_case cases[] = {
        {"", 0, "unexpected end of input", 0},
        {"   ", 0, "unexpected end of input", 3},
        {"{\"a\":1,}", 0, "expected a string key", 7},
        {"[1,]", 0, "unexpected character ']'", 3},
        {"[01]", 0, "leading zero", 1},
        {"[-]", 0, "needs digits", 1},
        {"[1.]", 0, "digits expected after '.'", 3},
        {"[1e]", 0, "exponent", 3},
        {"[.5]", 0, "unexpected character '.'", 1},
        {"[+1]", 0, "unexpected character '+'", 1},
        {"[1e999]", 0, "out of range", 1},
        {long_number, 0, "longer than 64", 0},
        {"\"abc", 0, "unterminated string", 0},
        {"\"a\tb\"", 0, "control character 0x09", 2},
        {"\"\\x\"", 0, "invalid escape '\\x'", 1},
        {"\"\\u12g4\"", 0, "bad hex digit", 5},
        {"\"\\udc00\"", 0, "lone low surrogate", 1},
        {"\"\\ud800x\"", 0, "not followed by a low one", 1},
        {"\"\\ud800\\u0041\"", 0, "followed by \\u0041", 1},
        {"\"\\u0000\"", 0, "\\u0000", 1},
        {"\"\xc0\x80\"", 0, "invalid UTF-8", 1},
        {"\"\xed\xa0\x80\"", 0, "invalid UTF-8", 1},
        {"\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8", 1},
        {"\"\xe2\x82\"", 0, "invalid UTF-8", 1},
        {"{\"a\":1,\"b\":2,\"a\":3}", 0, "duplicate key \"a\"", 13},
        {"{\"a\" 1}", 0, "expected ':'", 5},
        {"{\"a\":1 \"b\":2}", 0, "expected ',' or '}'", 7},
        {"[1 2]", 0, "expected ',' or ']'", 3},
        {"[1,2", 0, "unterminated array", 0},
        {"{} x", 0, "unexpected data after the JSON value", 3},
        {"tru", 0, "expected true", 0},
        {"nul", 0, "expected null", 0},
        {"[1]\0", 4, "unexpected data after the JSON value", 3},
        {"\x01", 0, "unexpected byte 0x01", 0},
        {deep, 0, "nesting deeper than 64", 64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        cm_json_doc d;
        cm_err err = parse_exact(&d, c->text, len);
        const char *msg = cm_error_message();
        char where[64] = "";
        if (c->offset >= 0) snprintf(where, sizeof where, "byte %ld:", c->offset);
        CM_TEST(err == CM_ERR_FORMAT && strstr(msg, c->message) && strstr(msg, where) && strstr(msg, "test.json"),
                "case %zu: want '%s' at %s, got: %s", i, c->message, where, msg);
        CM_TEST(d.nodes == NULL && d.count == 0, "case %zu: a failed parse leaves an empty document", i);
        cm_error_clear();
    }
    /* Exactly the depth limit is fine. */
    memset(deep, 0, sizeof deep);
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    cm_json_doc d;
    CM_TEST_OK(parse_exact(&d, deep, 128));
    cm_json_free(&d);
    /* The node limit. */
    CM_TEST(cm_json_parse(&d, "[1,2,3,4]", 9, "small", 4) == CM_ERR_FORMAT && strstr(cm_error_message(), "more than 4"),
            "node limit: %s", cm_error_message());
    cm_error_clear();
}

static void test_every_truncation(void)
{
    const char *text = "{\"x\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},\"s\":\"\\u00e9\\ud83d\\ude00\","
                       "\"n\":-1.5e-3,\"l\":[true,false,null]}";
    size_t n = strlen(text);
    int accepted = 0;
    for (size_t len = 0; len < n; len++) {
        cm_json_doc d;
        if (parse_exact(&d, text, len) == CM_OK) {
            accepted++;
            cm_json_free(&d);
        }
        cm_error_clear();
    }
    CM_TEST(accepted == 0, "%d strict prefixes of a document were accepted", accepted);
    cm_json_doc d;
    CM_TEST_OK(parse_exact(&d, text, n));
    cm_json_free(&d);
}

static void test_manifest(void)
{
    const char *path = cm_test_shared("data/oracle_tiny/manifest.json");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("skip manifest: %s not found\n", path);
        return;
    }
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    cm_json_doc d;
    CM_TEST_OK(cm_json_parse(&d, buf, n, path, 0));
    free(buf);
    const cm_json_node *root = cm_json_root(&d), *config = cm_json_get(&d, root, "config");
    CM_TEST(config && cm_json_get(&d, config, "embed_dim")->integer == 32 &&
                cm_json_get(&d, config, "vision_width")->integer == 128 &&
                cm_json_get(&d, config, "context_length")->integer == 77,
            "manifest config values");
    const cm_json_node *ids = cm_json_get(&d, root, "token_ids");
    CM_TEST(ids && ids->count == 4 && cm_json_first(&d, ids)->count == 77, "token_ids is 4 x 77");
    CM_TEST(cm_json_first(&d, cm_json_first(&d, ids))->integer == 49406, "first token is SOT");
    cm_json_free(&d);
}

int main(void)
{
    test_values();
    test_rejections();
    test_every_truncation();
    test_manifest();
    return cm_test_summary();
}

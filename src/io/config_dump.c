/* Writing a configuration: as YAML that reads back to an equal config (cm_config_dump), and as
 * the Markdown reference of every key (cm_config_doc, which is experiments/README.md). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/config.h"
#include "config_schema.h"

/* ---- YAML ---- */

/* Decodes one UTF-8 sequence at s (valid input: the strings came through libyaml's reader).
 * Returns its length, or 0 if it is not valid UTF-8. */
static int utf8_decode(const unsigned char *s, unsigned *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!len) return 0;
    unsigned v = s[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* A YAML double-quoted scalar. Characters YAML does not allow raw, and the ones its reader would
 * fold as line breaks (NEL, LS, PS), are escaped so that the text reads back byte for byte. */
static void write_string(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    fputc('"', f);
    while (*s) {
        unsigned cp;
        int len = utf8_decode(s, &cp);
        if (len == 0) { /* cannot happen for values read by libyaml; keep the byte visible */
            fprintf(f, "\\x%02X", *s++);
            continue;
        }
        if (cp == '"' || cp == '\\') fprintf(f, "\\%c", (char)cp);
        else if (cp == '\n') fputs("\\n", f);
        else if (cp == '\t') fputs("\\t", f);
        else if (cp == '\r') fputs("\\r", f);
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) fprintf(f, "\\x%02X", cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) fprintf(f, "\\u%04X", cp);
        else fwrite(s, 1, (size_t)len, f);
        s += len;
    }
    fputc('"', f);
}

/* The shortest decimal that reads back to exactly v. */
static void write_double(FILE *f, double v)
{
    char buf[64];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void write_value(FILE *f, const cm_config_key *k, const void *value)
{
    switch (k->type) {
    case CM_CFG_INT:
        fprintf(f, "%d", *(const int *)value);
        break;
    case CM_CFG_INT64:
        fprintf(f, "%" PRId64, *(const int64_t *)value);
        break;
    case CM_CFG_DOUBLE:
        write_double(f, *(const double *)value);
        break;
    case CM_CFG_BOOL:
        fputs(*(const int *)value ? "true" : "false", f);
        break;
    case CM_CFG_STRING:
        write_string(f, *(char *const *)value);
        break;
    case CM_CFG_ENUM:
        fputs(k->names[*(const int *)value], f);
        break;
    case CM_CFG_STRING_LIST: {
        const cm_config_strings *l = value;
        fputc('[', f);
        for (int i = 0; i < l->n; i++) {
            if (i) fputs(", ", f);
            write_string(f, l->items[i]);
        }
        fputc(']', f);
        break;
    }
    case CM_CFG_INT_LIST: {
        const cm_config_ints *l = value;
        fputc('[', f);
        for (int i = 0; i < l->n; i++) fprintf(f, "%s%" PRId64, i ? ", " : "", l->items[i]);
        fputc(']', f);
        break;
    }
    case CM_CFG_GROUPS: {
        const cm_config_groups *g = value;
        fputc('[', f);
        for (int h = 0; h < g->ngroups; h++) {
            fputs(h ? ", [" : "[", f);
            for (int i = 0; i < g->size[h]; i++) {
                if (i) fputs(", ", f);
                write_string(f, g->names[g->first[h] + i]);
            }
            fputc(']', f);
        }
        fputc(']', f);
        break;
    }
    case CM_CFG_SECTION:
        break;
    }
}

static void dump_section(const cm_config *c, const cm_config_section *s, int indent, FILE *f)
{
    for (int i = 0; i < s->nkeys; i++) {
        const cm_config_key *k = &s->keys[i];
        fprintf(f, "%*s%s:", indent, "", k->name);
        if (k->type == CM_CFG_SECTION) {
            fputc('\n', f);
            dump_section(c, k->section, indent + 2, f);
            continue;
        }
        fputc(' ', f);
        write_value(f, k, cm_config_field(c, k));
        fputc('\n', f);
    }
}

cm_err cm_config_dump(const cm_config *c, FILE *f)
{
    fputs("# clipmtl configuration: every key (`clipmtl config --doc` explains them)\n", f);
    dump_section(c, &cm_config_root, 0, f);
    if (fflush(f) != 0 || ferror(f)) CM_ERROR(CM_ERR_IO, "cannot write the configuration");
    return CM_OK;
}

/* ---- Markdown ---- */

/* Table cells: '|' would end the cell. */
static void write_cell(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|') fputc('\\', f);
        fputc(*p, f);
    }
}

static const char *type_name(const cm_config_key *k)
{
    switch (k->type) {
    case CM_CFG_INT:
    case CM_CFG_INT64: return "integer";
    case CM_CFG_DOUBLE: return "number";
    case CM_CFG_BOOL: return "boolean";
    case CM_CFG_STRING: return "string";
    case CM_CFG_ENUM: return "choice";
    case CM_CFG_STRING_LIST: return "list of strings";
    case CM_CFG_INT_LIST: return "list of integers";
    case CM_CFG_GROUPS: return "list of lists of names";
    case CM_CFG_SECTION: return "section";
    }
    return "?";
}

static void write_range(FILE *f, const cm_config_key *k)
{
    switch (k->type) {
    case CM_CFG_INT:
    case CM_CFG_INT64:
    case CM_CFG_DOUBLE:
    case CM_CFG_INT_LIST:
        if (k->type == CM_CFG_INT_LIST) fputs("each ", f);
        if (k->max >= 1e15)
            fprintf(f, "%s %.15g", (k->flags & CM_CFG_MIN_OPEN) ? ">" : ">=", k->min);
        else
            fprintf(f, "%s%.15g, %.15g%s", (k->flags & CM_CFG_MIN_OPEN) ? "(" : "[", k->min, k->max,
                    (k->flags & CM_CFG_MAX_OPEN) ? ")" : "]");
        if (k->flags & CM_CFG_INCREASING) fputs(", increasing", f);
        break;
    case CM_CFG_ENUM:
        for (int i = 0; k->names[i]; i++) fprintf(f, "%s`%s`", i ? ", " : "", k->names[i]);
        break;
    case CM_CFG_STRING:
    case CM_CFG_STRING_LIST:
    case CM_CFG_GROUPS: {
        if (k->names) { /* a string with a fixed set of values reads like an enum */
            for (int i = 0; k->names[i]; i++) fprintf(f, "%s`%s`", i ? ", " : "", k->names[i]);
            break;
        }
        const char *sep = "";
        if (k->flags & CM_CFG_NONEMPTY) { fputs(k->type == CM_CFG_STRING ? "non-empty" : "non-empty items", f); sep = ", "; }
        if (k->flags & CM_CFG_NAME) { fprintf(f, "%sletters, digits, `.`, `_`, `-`", sep); sep = ", "; }
        if (k->flags & CM_CFG_UNIQUE) fprintf(f, "%sno name twice", sep);
        break;
    }
    default:
        break;
    }
}

static void doc_rows(FILE *f, const cm_config_section *s, const char *prefix)
{
    for (int i = 0; i < s->nkeys; i++) {
        const cm_config_key *k = &s->keys[i];
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->name);
        if (k->type == CM_CFG_SECTION) {
            doc_rows(f, k->section, path);
            continue;
        }
        fprintf(f, "| `%s`%s | %s | `", path, k->required ? " (required)" : "", type_name(k));
        write_cell(f, k->default_yaml);
        fputs("` | ", f);
        write_range(f, k);
        fputs(" | ", f);
        write_cell(f, k->doc);
        fputs(" |\n", f);
    }
}

static void doc_subsections(FILE *f, const cm_config_section *s, const char *prefix)
{
    for (int i = 0; i < s->nkeys; i++)
        if (s->keys[i].type == CM_CFG_SECTION)
            fprintf(f, "\n`%s.%s.*`: %s\n", prefix, s->keys[i].name, s->keys[i].section->doc);
}

cm_err cm_config_doc(FILE *f)
{
    fputs("# Configuration reference\n\n"
          "<!-- Generated by `clipmtl config --doc`; do not edit by hand. "
          "tests/config/test_config_doc.sh checks that it is up to date. -->\n\n", f);
    fputs(cm_config_doc_intro, f);
    for (int s = 0; s < cm_config_nsections; s++) {
        const cm_config_section *section = &cm_config_sections[s];
        fprintf(f, "\n## %s\n\n%s\n\n", section->name, section->doc);
        fputs("| key | type | default | range or choices | meaning |\n|---|---|---|---|---|\n", f);
        doc_rows(f, section, section->name);
        doc_subsections(f, section, section->name);
    }
    fputs("\n## Every default\n\n`clipmtl config` without a file prints:\n\n```yaml\n", f);
    cm_config c;
    CM_CHECK(cm_config_defaults(&c));
    cm_err err = cm_config_dump(&c, f);
    cm_config_free(&c);
    CM_CHECK(err);
    fputs("```\n", f);
    if (fflush(f) != 0 || ferror(f)) CM_ERROR(CM_ERR_IO, "cannot write the configuration reference");
    return CM_OK;
}

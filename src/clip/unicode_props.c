/* Look-ups in the generated Unicode tables: binary searches over sorted runs, with ASCII answered
 * directly because almost all prompt text is ASCII. */
#include "unicode_tables.h"

int cm_uni_in_ranges(const cm_uni_range *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int cm_uni_is_letter(uint32_t cp)
{
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return cm_uni_in_ranges(cm_uni_letters, cm_uni_letters_count, cp);
}

int cm_uni_is_number(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return cm_uni_in_ranges(cm_uni_numbers, cm_uni_numbers_count, cp);
}

int cm_uni_is_py_space(uint32_t cp) { return cm_uni_in_ranges(cm_uni_py_space, cm_uni_py_space_count, cp); }

int cm_uni_is_white_space(uint32_t cp) { return cm_uni_in_ranges(cm_uni_white_space, cm_uni_white_space_count, cp); }

int cm_uni_is_pretok_unmatched(uint32_t cp)
{
    return cm_uni_in_ranges(cm_uni_pretok_unmatched, cm_uni_pretok_unmatched_count, cp);
}

int cm_uni_is_case_ignorable(uint32_t cp)
{
    return cm_uni_in_ranges(cm_uni_case_ignorable, cm_uni_case_ignorable_count, cp);
}

int cm_uni_is_cased(uint32_t cp) { return cm_uni_in_ranges(cm_uni_cased, cm_uni_cased_count, cp); }

int cm_uni_to_lower(uint32_t cp, uint32_t out[3])
{
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    size_t lo = 0, hi = cm_uni_lower_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < cm_uni_lower[mid].from)
            hi = mid;
        else if (cp > cm_uni_lower[mid].from)
            lo = mid + 1;
        else {
            out[0] = cm_uni_lower[mid].to;
            return 1;
        }
    }
    for (size_t i = 0; i < cm_uni_lower_multi_count; i++)
        if (cm_uni_lower_multi[i].from == cp) {
            for (uint32_t k = 0; k < cm_uni_lower_multi[i].len; k++) out[k] = cm_uni_lower_multi[i].to[k];
            return (int)cm_uni_lower_multi[i].len;
        }
    out[0] = cp;
    return 1;
}

int cm_uni_combining_class(uint32_t cp)
{
    if (cp < 0x300) return 0;
    size_t lo = 0, hi = cm_uni_ccc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < cm_uni_ccc[mid].lo)
            hi = mid;
        else if (cp > cm_uni_ccc[mid].hi)
            lo = mid + 1;
        else
            return (int)cm_uni_ccc[mid].ccc;
    }
    return 0;
}

const uint32_t *cm_uni_decomposition(uint32_t cp, size_t *len)
{
    size_t lo = 0, hi = cm_uni_decomps_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < cm_uni_decomps[mid].cp)
            hi = mid;
        else if (cp > cm_uni_decomps[mid].cp)
            lo = mid + 1;
        else {
            *len = cm_uni_decomps[mid].len;
            return cm_uni_decomp_data + cm_uni_decomps[mid].offset;
        }
    }
    *len = 0;
    return NULL;
}

uint32_t cm_uni_compose_pair(uint32_t first, uint32_t second)
{
    size_t lo = 0, hi = cm_uni_compositions_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const cm_uni_compose *c = &cm_uni_compositions[mid];
        if (first < c->first || (first == c->first && second < c->second))
            hi = mid;
        else if (first > c->first || second > c->second)
            lo = mid + 1;
        else
            return c->composite;
    }
    return 0;
}

/* "Did you mean" for configuration names: the known name nearest to a misspelt one by edit
 * distance, when it is near enough to be a typo rather than a different word. */
#include <string.h>

#include "config_schema.h"

/* Levenshtein distance with adjacent transpositions counting as one edit ("parition"). */
static int edit_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX || m >= MAX) return MAX;
    int d[MAX][MAX];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *cm_config_suggest(const char *word, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 0;
    for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
        int d = edit_distance(word, names[i]);
        if (!best || d < best_d) best = names[i], best_d = d;
    }
    /* A third of the word's length, at most 3 edits: "vit_b16" -> "vit-b16", "parition" ->
     * "partition", but not "cifar" -> "folder", nor anything for words of one or two letters. */
    int limit = (int)strlen(word) / 3;
    if (limit > 3) limit = 3;
    return best && best_d <= limit ? best : NULL;
}

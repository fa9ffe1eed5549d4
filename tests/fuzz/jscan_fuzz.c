/*
 * jscan_fuzz.c -- libFuzzer target for the API's fast JSON scanner, held
 * against jansson: any text it takes as a value, jansson reads too, as
 * the same value after jscan_compact(); any body whose items it takes,
 * each item's data is such a value and its channel lies in the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"

#define MAXITEMS	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_value(const char *s, size_t n)
{
	json_t	*a, *b;
	char	*out;
	size_t	 m;

	if ((out = malloc(n + 1)) == NULL)
		abort();
	m = jscan_compact(s, n, out);
	a = json_loadb(s, n, JSON_DECODE_ANY, NULL);
	b = json_loadb(out, m, JSON_DECODE_ANY, NULL);
	if (a == NULL || b == NULL || !json_equal(a, b) || m > n)
		abort();
	json_decref(a);
	json_decref(b);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jscan_item	 its[MAXITEMS];
	const char		*s = (const char *)data;
	size_t			 n, i;
	int			 batch;

	if (jscan_valid(s, size))
		same_value(s, size);
	for (batch = 0; batch < 2; batch++) {
		if (jscan_items(s, size, batch, its, MAXITEMS, &n) == -1)
			continue;
		if (n == 0 || n > MAXITEMS || (!batch && n != 1))
			abort();
		for (i = 0; i < n; i++) {
			if (its[i].ji_chan < s || its[i].ji_chan +
			    its[i].ji_chanlen > s + size ||
			    !jscan_valid(its[i].ji_data, its[i].ji_datalen))
				abort();
			same_value(its[i].ji_data, its[i].ji_datalen);
		}
	}
	return 0;
}

/*
 * kizunad: entry point. Placeholder, replaced by the daemon proper.
 */
#include <stdio.h>

int
main(void)
{
    puts("kizunad " KZ_VERSION);
    return 0;
}

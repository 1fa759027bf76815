/* version.c - the library's version at run time. */
#include "mlp.h"

const char *mlp_version(void)
{
    return MLP_VERSION;
}
int mlp_version_number(void)
{
    return MLP_VERSION_NUMBER;
}

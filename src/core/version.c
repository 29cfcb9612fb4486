/* The version of the library that is linked (segloss_version_number is the
 * same formula as SEGLOSS_VERSION_NUMBER, evaluated when the library was
 * built). */
#include "core/internal.h"

unsigned segloss_version_number(void) { return SEGLOSS_VERSION_NUMBER; }

const char *segloss_version_string(void) { return SEGLOSS_VERSION_STRING; }

/* Private helpers of the image readers (not installed): big buffers and
 * whole-buffer gzip decoding (src/io/inflate.c). */
#ifndef SEGLOSS_IO_INFLATE_H
#define SEGLOSS_IO_INFLATE_H

#include <stddef.h>

/* segloss__huge_alloc (core/huge.h): above 32 MiB, a buffer on a 2 MiB
 * boundary advised as transparent huge pages, so that filling it costs one
 * page fault per 2 MiB, none per 4 KiB even at its start; smaller ones
 * malloc'd with the 2 MiB pages inside them advised. Freed with free().
 * NULL when out of memory. */
void *segloss__big_alloc(size_t n);

/* Hands out base + offset, a block inside the buffer `base` (from malloc
 * or segloss__big_alloc), as data of its own, freed with
 * segloss__big_free, which then frees `base`. NULL when no more blocks
 * can be recorded (the caller then moves the data to the front); base +
 * offset itself when offset is 0. */
void *segloss__big_adopt(void *base, size_t offset);

/* Frees a block from segloss__big_adopt, or any malloc'd pointer (free);
 * NULL is allowed. */
void segloss__big_free(void *p);

/* Decodes a whole .gz buffer in one call (libdeflate) when it is the
 * simple case: a single gzip member covering all of in[0, len), whose
 * decoded size is its trailer's ISIZE and at most cap. The output is
 * allocated once at that size (segloss__big_alloc) and its CRC-32 and size
 * are checked. Returns 0 with *out (malloc'd) and *out_len; -1 when the
 * buffer is anything else (several members, data after the member, a size
 * of 4 GiB or more, corrupt or truncated data: the caller then decodes it
 * with zlib, which explains what is wrong); -2 when out of memory. */
int segloss__gunzip_whole(unsigned char **out, size_t *out_len, const unsigned char *in,
                          size_t len, size_t cap);

#endif

/* Fuzz target: the .npy reader and writer.
 *
 * Input: the bytes of a .npy file. Properties checked (beyond "no crash,
 * no sanitizer report"):
 *  - segloss_npy_read_mem with a 64 MiB cap returns a status; on error the
 *    message is set and *out is zeroed; on success shape, numel and dtype
 *    agree and the data fits the cap;
 *  - the file reader (segloss_npy_read) gives the same status and the same
 *    array for the same bytes;
 *  - the cap is exact on the returned array (a float16 file counts as its
 *    float32 result): max_bytes = size - 1 is SEGLOSS_ERR_LIMIT, max_bytes
 *    = size is accepted;
 *  - an array read back is converted to float32 into a buffer of exactly
 *    numel floats, and written (segloss_npy_write) and read again to the
 *    same bytes. */
#include "fuzz.h"

#include <segloss.h>

#include <stdlib.h>
#include <string.h>

static void check_error(segloss_status st, const segloss_npy *a, const char *err) {
    FUZZ_CHECK_MSG(st != SEGLOSS_OK, "expected an error");
    FUZZ_CHECK_MSG(err[0] != '\0', "status %d without a message", (int)st);
    FUZZ_CHECK(a->data == NULL && a->numel == 0);
}

static void check_array(const segloss_npy *a, size_t max_bytes) {
    int64_t numel = -1;
    FUZZ_CHECK(a->data != NULL);
    FUZZ_CHECK(segloss_shape_numel(&a->shape, &numel) == SEGLOSS_OK);
    FUZZ_CHECK(numel == a->numel);
    size_t es = segloss_dtype_size(a->dtype);
    FUZZ_CHECK(es > 0);
    FUZZ_CHECK(max_bytes == 0 || (size_t)a->numel * es <= max_bytes);
}

static int same_array(const segloss_npy *a, const segloss_npy *b) {
    if (a->dtype != b->dtype || a->numel != b->numel || a->shape.ndim != b->shape.ndim) return 0;
    for (int k = 0; k < a->shape.ndim; k++)
        if (a->shape.dim[k] != b->shape.dim[k]) return 0;
    size_t bytes = (size_t)a->numel * segloss_dtype_size(a->dtype);
    return bytes == 0 || memcmp(a->data, b->data, bytes) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256], err2[256];
    segloss_npy a, b;
    segloss_status st = segloss_npy_read_mem(&a, data, size, FUZZ_MAX_BYTES, err, sizeof err);
    /* Below a 64 MiB cap, running out of memory means an allocation the
     * cap did not bound (replay_main.c limits memory to 1 GiB). */
    FUZZ_CHECK_MSG(st != SEGLOSS_ERR_NOMEM, "out of memory below a %zu-byte cap: %s",
                   FUZZ_MAX_BYTES, err);
    if (st != SEGLOSS_OK) check_error(st, &a, err);
    else check_array(&a, FUZZ_MAX_BYTES);

    /* The file reader reads in steps (preamble, header, data): same answer. */
    char path[4096];
    fuzz_tmp_path(path, sizeof path, "in.npy");
    FUZZ_CHECK(fuzz_write_file(path, data, size) == 0);
    segloss_status st2 = segloss_npy_read(&b, path, FUZZ_MAX_BYTES, err2, sizeof err2);
    FUZZ_CHECK_MSG(st2 == st, "memory reader: %d (%s), file reader: %d (%s)", (int)st, err,
                   (int)st2, err2);
    if (st != SEGLOSS_OK) {
        check_error(st2, &b, err2);
        return 0;
    }
    FUZZ_CHECK(same_array(&a, &b));
    segloss_npy_free(&b);

    /* The cap, one byte either side of the data size. */
    size_t bytes = (size_t)a.numel * segloss_dtype_size(a.dtype);
    if (bytes > 1) {
        st2 = segloss_npy_read_mem(&b, data, size, bytes - 1, err2, sizeof err2);
        FUZZ_CHECK_MSG(st2 == SEGLOSS_ERR_LIMIT, "cap %zu on %zu bytes: status %d", bytes - 1,
                       bytes, (int)st2);
        check_error(st2, &b, err2);
        st2 = segloss_npy_read_mem(&b, data, size, bytes, err2, sizeof err2);
        FUZZ_CHECK(st2 == SEGLOSS_OK);
        segloss_npy_free(&b);
    }

    /* Conversion into an exactly sized buffer. */
    float *f = malloc(a.numel ? (size_t)a.numel * sizeof(float) : 1);
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(segloss_convert_to_f32(f, a.data, a.dtype, a.numel) == SEGLOSS_OK);
    free(f);

    /* Write and read back: the same array. */
    fuzz_tmp_path(path, sizeof path, "out.npy");
    st2 = segloss_npy_write(path, a.data, a.dtype, &a.shape, err2, sizeof err2);
    FUZZ_CHECK_MSG(st2 == SEGLOSS_OK, "write: %d (%s)", (int)st2, err2);
    st2 = segloss_npy_read(&b, path, 0, err2, sizeof err2);
    FUZZ_CHECK_MSG(st2 == SEGLOSS_OK, "read back: %d (%s)", (int)st2, err2);
    FUZZ_CHECK(same_array(&a, &b));
    segloss_npy_free(&b);
    segloss_npy_free(&a);
    return 0;
}

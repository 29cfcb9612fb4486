/* Status messages and dtype facts. */
#include "core/internal.h"

const char *segloss_strerror(segloss_status status) {
    switch (status) {
    case SEGLOSS_OK: return "success";
    case SEGLOSS_ERR_NULL: return "a required pointer argument is NULL";
    case SEGLOSS_ERR_SHAPE: return "shapes do not match (or cannot be broadcast, or the rank is not supported)";
    case SEGLOSS_ERR_EMPTY: return "array has zero elements";
    case SEGLOSS_ERR_OVERFLOW: return "array size overflows";
    case SEGLOSS_ERR_NOMEM: return "out of memory";
    case SEGLOSS_ERR_DOMAIN: return "input values outside the loss's domain (probabilities must lie in [0,1])";
    case SEGLOSS_ERR_TARGET: return "target values outside [0,1] (integer targets must be 0 or 1)";
    case SEGLOSS_ERR_ARG: return "invalid option value";
    case SEGLOSS_ERR_DTYPE: return "unsupported element type";
    case SEGLOSS_ERR_NONFINITE: return "non-finite value (NaN or infinity)";
    case SEGLOSS_ERR_IO: return "input/output error";
    case SEGLOSS_ERR_FORMAT: return "malformed or truncated file";
    case SEGLOSS_ERR_UNSUPPORTED: return "unsupported file feature";
    case SEGLOSS_ERR_LIMIT: return "data size exceeds the configured limit";
    case SEGLOSS_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

size_t segloss_dtype_size(segloss_dtype d) {
    switch (d) {
    case SEGLOSS_U8: case SEGLOSS_BOOL: case SEGLOSS_I8: return 1;
    case SEGLOSS_I16: case SEGLOSS_U16: return 2;
    case SEGLOSS_F32: case SEGLOSS_I32: case SEGLOSS_U32: return 4;
    case SEGLOSS_F64: case SEGLOSS_I64: case SEGLOSS_U64: return 8;
    }
    return 0;
}

const char *segloss_dtype_name(segloss_dtype d) {
    switch (d) {
    case SEGLOSS_F32: return "float32";
    case SEGLOSS_F64: return "float64";
    case SEGLOSS_U8: return "uint8";
    case SEGLOSS_BOOL: return "bool";
    case SEGLOSS_I8: return "int8";
    case SEGLOSS_I16: return "int16";
    case SEGLOSS_I32: return "int32";
    case SEGLOSS_I64: return "int64";
    case SEGLOSS_U16: return "uint16";
    case SEGLOSS_U32: return "uint32";
    case SEGLOSS_U64: return "uint64";
    }
    return "invalid";
}

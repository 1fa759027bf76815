/*
 * pb.h - the protobuf wire format, read and written by hand (no protobuf
 * library, no generated code): varints, field tags, fixed 32/64-bit values
 * and length-delimited fields. The reader walks a message's fields in
 * place and checks every length against the bytes actually there before
 * anyone can use it; it never allocates and never recurses (a caller that
 * wants a nested message starts a new reader on the field's bytes). The
 * writer appends to one growing buffer from the context's allocator.
 */
#ifndef MLP_IO_PB_H
#define MLP_IO_PB_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* wire types */
#define MLP__PB_VARINT 0
#define MLP__PB_FIXED64 1
#define MLP__PB_LEN 2
#define MLP__PB_FIXED32 5

/* A reader over one message's bytes [p, end). */
typedef struct mlp__pb {
    const unsigned char *p, *end;
} mlp__pb;

/* One field as read: its number and wire type, then its value: `v` for
 * varints and fixed values, `data`/`len` (inside the buffer) for
 * length-delimited ones. For the others `data` points into the buffer
 * too, with `len` 0, so `data + len` is always a valid pointer. */
typedef struct mlp__pb_field {
    uint32_t num;
    int wire;
    uint64_t v;
    const unsigned char *data;
    size_t len;
} mlp__pb_field;

/* Start reading the message in buf[0..size). */
void mlp__pb_init(mlp__pb *r, const void *buf, size_t size);
/* Read the next field into *f: 1 when there was one, 0 at the end of the
 * message, -1 when the bytes are malformed (a varint longer than 10 bytes
 * or cut off, field number 0 or above 2^29-1, a length past the end of
 * the message, a group or an unknown wire type). After -1 the reader
 * stays at the end. */
int mlp__pb_next(mlp__pb *r, mlp__pb_field *f);
/* Decode a varint from [*p, end): 1 and advances *p, or 0 when malformed. */
int mlp__pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v);

/* Little-endian float at p (the wire format's byte order on any host). */
float mlp__pb_f32(const unsigned char *p);

/* 1 when the field is length-delimited and its bytes equal the C string s. */
int mlp__pb_is_str(const mlp__pb_field *f, const char *s);

/* A writer appending to a buffer from ctx's allocator. After the first
 * failure (out of memory, too large) every call does nothing and
 * `status` keeps the failure; check it once at the end. */
typedef struct mlp__pbw {
    mlp_ctx *ctx;
    const char *fn;
    unsigned char *buf;
    size_t len, cap;
    mlp_status status;
} mlp__pbw;

void mlp__pbw_init(mlp__pbw *w, mlp_ctx *ctx, const char *fn);
/* Release the buffer (after a failure, or when it was not handed on). */
void mlp__pbw_free(mlp__pbw *w);
void mlp__pbw_varint(mlp__pbw *w, uint32_t num, uint64_t v);
/* A signed int64 as protobuf encodes int64 (two's complement, 10 bytes
 * when negative). */
void mlp__pbw_int64(mlp__pbw *w, uint32_t num, int64_t v);
void mlp__pbw_fixed32(mlp__pbw *w, uint32_t num, uint32_t v);
void mlp__pbw_float(mlp__pbw *w, uint32_t num, float v);
void mlp__pbw_bytes(mlp__pbw *w, uint32_t num, const void *data, size_t len);
void mlp__pbw_str(mlp__pbw *w, uint32_t num, const char *s);
/* Bytes already in the wire format (fields written by another writer). */
void mlp__pbw_raw(mlp__pbw *w, const void *data, size_t len);
/* n floats as little-endian bytes in one length-delimited field. */
void mlp__pbw_floats_raw(mlp__pbw *w, uint32_t num, const float *v, size_t n);
/* A nested message: begin writes its tag and returns a mark; everything
 * written until end(mark) becomes the message, whose length end() puts in
 * front of it (shortest varint: the bytes move only when the message
 * reaches 128 bytes). */
size_t mlp__pbw_begin(mlp__pbw *w, uint32_t num);
void mlp__pbw_end(mlp__pbw *w, size_t mark);

#endif

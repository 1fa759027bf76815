/*
 * file.h - helpers shared by the file readers and writers: whole-file read
 * into a context buffer, the path-then-buffer wrapper every loader uses, atomic write through a temporary file and rename,
 * little-endian encoding of integers and floats on every host, CRC-32.
 */
#ifndef MLP_IO_FILE_H
#define MLP_IO_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* Read all of `path` into a buffer from ctx's allocator (free it with
 * mlp__free). Files larger than max_size bytes are MLP_ERR_IO. Messages
 * name fn, the path and the system's reason. An empty file gives a
 * 1-byte buffer and *out_size 0. */
mlp_status mlp__read_file(mlp_ctx *ctx, const char *fn, const char *path, size_t max_size,
                          unsigned char **out, size_t *out_size);

/* A reader's parser: makes a new object (a tensor, a model) from the bytes
 * b[0..size), or records why not in messages naming fn and returns NULL.
 * opt carries the reader's own options (NULL when it has none). */
typedef void *(*mlp__parse_fn)(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                               const void *opt);

/* The two public faces of every reader. mlp__load_mem is an X_load_mem:
 * NULL for a NULL ctx, MLP_ERR_NULL for a NULL buf, else parse as fn.
 * mlp__load_path is an X_load: reads path (at most max_size bytes), parses
 * it as fn, and names the file in a format or version error. */
void *mlp__load_mem(mlp_ctx *ctx, const char *fn, const void *buf, size_t size, mlp__parse_fn parse,
                    const void *opt);
void *mlp__load_path(mlp_ctx *ctx, const char *fn, const char *path, size_t max_size,
                     mlp__parse_fn parse, const void *opt);

/* A writer's serialiser: the object obj as a new buffer from ctx's
 * allocator in *buf, *size bytes, or a failure recorded naming fn. */
typedef mlp_status (*mlp__save_fn)(const void *obj, const char *fn, void **buf, size_t *size);

/* The path face of every writer: MLP_ERR_NULL for a NULL path, else
 * serialise obj with save and write it atomically to path. */
mlp_status mlp__save_path(mlp_ctx *ctx, const char *fn, const char *path, mlp__save_fn save,
                          const void *obj);

/* Write buf[0..size) to `path` durably and atomically (save.c): follow
 * symbolic links to the file they name; refuse (MLP_ERR_IO, nothing
 * touched) a target that exists and is not a regular file; write
 * `target`.tmp (a stale regular one is replaced), fsync it, keep the old
 * file's permissions, rename it over the target, fsync the directory. On
 * any failure before the rename the temporary file is removed and the
 * target is left as it was. Messages name fn and the path. */
mlp_status mlp__write_file_atomic(mlp_ctx *ctx, const char *fn, const char *path, const void *buf,
                                  size_t size);

/* Readers' check for values that are not finite floats (unless the context
 * allows them, mlp_ctx_set_allow_nonfinite_data): the index of the first
 * NaN or Inf in d[0..n), or -1 when there is none. */
int64_t mlp__first_nonfinite(const float *d, int64_t n);
/* MLP_ERR_NONFINITE for element i of t (given as row and column), whose
 * value in the file was `src`: a NaN or Inf there, or a finite number
 * that does not fit a float (when `scaled`, only after the scale). */
mlp_status mlp__nonfinite_data(mlp_ctx *ctx, const char *fn, const mlp_tensor *t, int64_t i,
                               double src, int scaled);

/* Little-endian put/get; p must have room for 4 / 8 bytes. */
void mlp__put_u32(unsigned char *p, uint32_t v);
void mlp__put_u64(unsigned char *p, uint64_t v);
void mlp__put_f32(unsigned char *p, float v);
void mlp__put_f64(unsigned char *p, double v);
uint32_t mlp__get_u32(const unsigned char *p);
uint64_t mlp__get_u64(const unsigned char *p);
float mlp__get_f32(const unsigned char *p);
double mlp__get_f64(const unsigned char *p);
/* Big-endian 32-bit read (IDX headers, '>f4' data). */
uint32_t mlp__get_u32_be(const unsigned char *p);

/* CRC-32 (IEEE 802.3, the zlib/PNG one) of buf[0..n), continuing from
 * crc (start with 0). crc32("123456789") == 0xCBF43926. */
uint32_t mlp__crc32(uint32_t crc, const void *buf, size_t n);

#endif

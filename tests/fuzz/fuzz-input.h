/* Reads typed values from a fuzzer's input, front to back. Once the bytes run out every value
 * is 0 (an empty string, an absent answer), so a harness never has to check for the end and a
 * short input still describes one whole, valid run. Values that matter at boundaries (0, -1,
 * INT_MAX + 1, 2^32, NaN, inf, ...) come from small tables so the fuzzer reaches them with
 * one byte instead of eight. */
#ifndef LATENT_FUZZ_INPUT_H
#define LATENT_FUZZ_INPUT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const uint8_t *data;
  size_t size;
  size_t pos;
} FuzzInput;

static inline size_t
fuzz_input_left (const FuzzInput *in)
{
  return in->size - in->pos;
}

static inline uint8_t
fuzz_take_u8 (FuzzInput *in)
{
  return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint16_t
fuzz_take_u16 (FuzzInput *in)
{
  uint16_t low = fuzz_take_u8 (in);
  return (uint16_t) (low | (uint16_t) fuzz_take_u8 (in) << 8);
}

static inline uint64_t
fuzz_take_u64 (FuzzInput *in)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t) fuzz_take_u8 (in) << (8 * i);
  return v;
}

/* Copies up to n bytes into dst and zero-fills the rest. */
static inline void
fuzz_take_bytes (FuzzInput *in, void *dst, size_t n)
{
  size_t have = fuzz_input_left (in) < n ? fuzz_input_left (in) : n;
  memcpy (dst, in->data + in->pos, have);
  memset ((uint8_t *) dst + have, 0, n - have);
  in->pos += have;
}

/* An integer: selector byte < 128 picks a small value (selector - 8, so -8..119), selectors
 * 128..(128 + table) pick a boundary value, anything above reads 8 raw bytes. */
static inline int64_t
fuzz_take_i64 (FuzzInput *in)
{
  static const int64_t boundaries[] = {
    INT64_MIN, INT64_MAX, INT32_MIN, INT32_MAX, (int64_t) INT32_MAX + 1, (int64_t) 1 << 32,
    (int64_t) 1 << 20, ((int64_t) 1 << 20) + 1, 2048, 4096, 4097, 44100, 48000, 65536, -65536,
  };
  const uint8_t selector = fuzz_take_u8 (in);
  if (selector < 128)
    return (int64_t) selector - 8;
  if (selector - 128u < sizeof boundaries / sizeof boundaries[0])
    return boundaries[selector - 128];
  return (int64_t) fuzz_take_u64 (in);
}

/* A double: small integers and halves, boundary values, or 8 raw bytes (any bit pattern). */
static inline double
fuzz_take_double (FuzzInput *in)
{
  static const double boundaries[] = {
    NAN, INFINITY, -INFINITY, 0.5, -0.0, 1e-300, 1e300, 2147483647.0, 2147483648.0,
    4294967296.0, -2147483649.0, 9.3e18, 44100.0, 48000.0,
  };
  const uint8_t selector = fuzz_take_u8 (in);
  if (selector < 128)
    return ((double) selector - 8.0) / (selector & 1 ? 2.0 : 1.0);
  if (selector - 128u < sizeof boundaries / sizeof boundaries[0])
    return boundaries[selector - 128];
  uint64_t bits = fuzz_take_u64 (in);
  double v;
  memcpy (&v, &bits, sizeof v);
  return v;
}

/* A malloc'd NUL-terminated string: a word from `words` (selector below its count) or up to
 * 63 raw bytes (NULs end it early, as they would any C string). */
static inline char *
fuzz_take_string (FuzzInput *in, const char *const *words, size_t n_words)
{
  const uint8_t selector = fuzz_take_u8 (in);
  if (selector < n_words)
    return strdup (words[selector]);
  char buf[64];
  fuzz_take_bytes (in, buf, (size_t) (selector & 63));
  buf[selector & 63] = '\0';
  return strdup (buf);
}

#endif /* LATENT_FUZZ_INPUT_H */

/* After warm-up, no model call may optimise a TorchScript graph again: each optimisation
 * stalls a stream for milliseconds to seconds (a reload to reset state did exactly that).
 * Tests call this once their pipelines or plugins have streamed. Opens the backend module. */
#ifndef LATENT_COMPILE_CHECK_H
#define LATENT_COMPILE_CHECK_H

#include "latent.h"

#include <stdio.h>

/* Prints the counts; FALSE when a warmed-up model's call optimised a graph. */
static inline gboolean
latent_test_no_streaming_compilations (const char *what)
{
  guint64 streaming = 0, total = latent_backend_graph_compilations (&streaming);
  printf ("%s: %" G_GUINT64_FORMAT " TorchScript graph optimisations, %" G_GUINT64_FORMAT
      " of them while streaming (expected 0)\n", what, total, streaming);
  fflush (stdout);
  return streaming == 0;
}

#endif

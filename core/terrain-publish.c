/* Publishing weights to real-time readers without locks.
 *
 * Two slots and an atomic index. A reader registers on the published slot (per-slot reader
 * count) and re-checks the index: if the writer swapped in between it retries, otherwise the
 * slot cannot change until the reader leaves, because the writer only writes the slot that is
 * not published and only once its reader count has dropped to zero. Readers therefore never
 * wait for the writer (they retry at most when a swap lands exactly between two loads, and a
 * swap needs a whole network copy in between); the writer may wait for readers, which hold a
 * slot for one forward pass. All atomics are sequentially consistent. */
#include "terrain-private.h"

#include <stdatomic.h>
#include <string.h>

struct LatentTerrainPublisher {
  gatomicrefcount ref_count;
  LatentTerrain *slots[2];
  atomic_uint published;
  atomic_uint readers[2];
  atomic_uint_fast64_t generation;
  GMutex writer_lock; /* serialises writers; readers never touch it */
};

LatentTerrainPublisher *
latent_terrain_publisher_new (const LatentTerrain *initial)
{
  LatentTerrainPublisher *p = g_new0 (LatentTerrainPublisher, 1);
  g_atomic_ref_count_init (&p->ref_count);
  p->slots[0] = latent_terrain_copy (initial);
  p->slots[1] = latent_terrain_copy (initial);
  atomic_init (&p->published, 0);
  atomic_init (&p->readers[0], 0);
  atomic_init (&p->readers[1], 0);
  atomic_init (&p->generation, 0);
  g_mutex_init (&p->writer_lock);
  return p;
}

LatentTerrainPublisher *
latent_terrain_publisher_ref (LatentTerrainPublisher *publisher)
{
  g_atomic_ref_count_inc (&publisher->ref_count);
  return publisher;
}

void
latent_terrain_publisher_unref (LatentTerrainPublisher *publisher)
{
  if (!publisher || !g_atomic_ref_count_dec (&publisher->ref_count))
    return;
  latent_terrain_free (publisher->slots[0]);
  latent_terrain_free (publisher->slots[1]);
  g_mutex_clear (&publisher->writer_lock);
  g_free (publisher);
}

const LatentTerrain *
latent_terrain_publisher_acquire (LatentTerrainPublisher *publisher, guint *ticket)
{
  for (;;) {
    unsigned slot = atomic_load (&publisher->published);
    atomic_fetch_add (&publisher->readers[slot], 1);
    if (atomic_load (&publisher->published) == slot) {
      *ticket = slot;
      return publisher->slots[slot];
    }
    atomic_fetch_sub (&publisher->readers[slot], 1);
  }
}

void
latent_terrain_publisher_release (LatentTerrainPublisher *publisher, guint ticket)
{
  atomic_fetch_sub (&publisher->readers[ticket], 1);
}

gboolean
latent_terrain_publisher_forward (LatentTerrainPublisher *publisher, const float *x,
    float *out, LatentTerrainWorkspace *workspace)
{
  guint ticket;
  const LatentTerrain *terrain = latent_terrain_publisher_acquire (publisher, &ticket);
  gboolean ok = latent_terrain_forward (terrain, x, out, workspace);
  latent_terrain_publisher_release (publisher, ticket);
  return ok;
}

guint64
latent_terrain_publisher_get_generation (LatentTerrainPublisher *publisher)
{
  return atomic_load (&publisher->generation);
}

void
latent_terrain_publisher_get_config (LatentTerrainPublisher *publisher,
    LatentTerrainConfig *config)
{
  guint ticket;
  *config = latent_terrain_publisher_acquire (publisher, &ticket)->config;
  latent_terrain_publisher_release (publisher, ticket);
}

void
latent_terrain_publisher_publish (LatentTerrainPublisher *publisher,
    const LatentTerrain *terrain)
{
  g_mutex_lock (&publisher->writer_lock);
  unsigned spare = 1 - atomic_load (&publisher->published);
  /* Readers that registered on this slot before the previous swap finish their forward pass. */
  while (atomic_load (&publisher->readers[spare]) != 0)
    g_thread_yield ();
  LatentTerrain *slot = publisher->slots[spare];
  if (slot->n_floats == terrain->n_floats
      && latent_terrain_config_equal (&slot->config, &terrain->config)) {
    memcpy (slot->data, terrain->data, terrain->n_floats * sizeof (float));
    slot->two_pi = terrain->two_pi;
  } else {
    publisher->slots[spare] = latent_terrain_copy (terrain);
    latent_terrain_free (slot);
  }
  atomic_store (&publisher->published, spare);
  atomic_fetch_add (&publisher->generation, 1);
  g_mutex_unlock (&publisher->writer_lock);
}

LatentTerrain *
latent_terrain_publisher_copy (LatentTerrainPublisher *publisher)
{
  guint ticket;
  LatentTerrain *copy =
      latent_terrain_copy (latent_terrain_publisher_acquire (publisher, &ticket));
  latent_terrain_publisher_release (publisher, ticket);
  return copy;
}

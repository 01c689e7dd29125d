/* Opens the LibTorch backend module on the first model load: LibTorch pulls in hundreds of
 * shared libraries, and processes that never load a model must not pay for them. */
#include "backend.h"

#include <dlfcn.h>
#include <gmodule.h>
#include <stdarg.h>
#include <stdlib.h>

/* Not G_DEFINE_QUARK: that interns a static string, which dangles in GLib's quark table once a
 * host unloads the plugin that holds it (LV2 hosts do), and the next error then crashes. */
GQuark
latent_error_quark (void)
{
  return g_quark_from_string ("latent-error-quark");
}

static const LatentTorchBackend *backend;
static char *backend_failure;

/* From a build tree, use the module built beside this code; once installed, the installed one. */
static const char *
backend_path (void)
{
  const char *env = g_getenv ("LATENT_TORCH_BACKEND");
  if (env && *env)
    return env;
  Dl_info info;
  /* dladdr gives the name the binary was started with: resolve a relative one first. */
  char *where = dladdr ((void *) backend_path, &info) && info.dli_fname
      ? realpath (info.dli_fname, NULL) : NULL;
  gboolean in_build_tree = where && g_str_has_prefix (where, LATENT_BUILD_ROOT "/")
      && g_file_test (LATENT_BACKEND_BUILD_PATH, G_FILE_TEST_EXISTS);
  free (where);
  return in_build_tree ? LATENT_BACKEND_BUILD_PATH : LATENT_BACKEND_INSTALL_PATH;
}

static gpointer
open_backend (gpointer unused)
{
  const char *path = backend_path ();
  /* Never unloaded: LibTorch registers global state that does not survive dlclose. */
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (!module) {
    backend_failure = g_strdup_printf ("cannot open the LibTorch backend %s: %s "
        "(set LATENT_TORCH_BACKEND to liblatent-torch.so)", path, g_module_error ());
    return NULL;
  }
  g_module_make_resident (module);
  LatentTorchBackendEntry entry = NULL;
  if (!g_module_symbol (module, LATENT_BACKEND_ENTRY, (gpointer *) &entry) || !entry
      || !(backend = entry (LATENT_BACKEND_ABI))) {
    backend_failure = g_strdup_printf ("%s is not a latent backend of ABI %d", path,
        LATENT_BACKEND_ABI);
  }
  return NULL;
}

const LatentTorchBackend *
latent_backend_get (GError **error)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, open_backend, NULL);
  if (!backend)
    g_set_error_literal (error, LATENT_ERROR, LATENT_ERROR_BACKEND, backend_failure);
  return backend;
}

const char *
latent_backend_version (void)
{
  return backend ? backend->version : NULL;
}

guint64
latent_backend_graph_compilations (guint64 *streaming)
{
  /* Open the module: an LV2 plugin's copy of this code may be the one that loaded it. */
  const LatentTorchBackend *table = latent_backend_get (NULL);
  uint64_t during_streams = 0, total = table ? table->graph_compilations (&during_streams) : 0;
  if (streaming)
    *streaming = during_streams;
  return total;
}

guint64
latent_backend_tensor_allocations (void)
{
  const LatentTorchBackend *table = latent_backend_get (NULL);
  return table && table->tensor_allocations ? table->tensor_allocations () : 0;
}

void
latent_backend_take_error (GError **error, LatentError code, char *message,
    const char *context_format, ...)
{
  va_list args;
  va_start (args, context_format);
  char *context = g_strdup_vprintf (context_format, args);
  va_end (args);
  g_set_error (error, LATENT_ERROR, code, "%s: %s", context, message ? message : "failed");
  g_free (context);
  free (message);
}

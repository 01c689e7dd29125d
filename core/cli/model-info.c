/* `latent model info FILE`: what a TorchScript model offers, as the elements will see it. */
#include "cli.h"

#include <stdio.h>

int
latent_cli_model_info (int argc, char **argv)
{
  if (!latent_cli_parse ("model info", "FILE", NULL, &argc, &argv))
    return 1;
  if (argc != 2)
    return latent_cli_fail ("model info: expected one model file, got %d arguments", argc - 1);
  GError *error = NULL;
  LatentModel *model = latent_model_open (argv[1], 1, &error);
  if (!model) {
    int status = latent_cli_fail ("%s", error->message);
    g_error_free (error);
    return status;
  }
  printf ("file         %s\n", argv[1]);
  printf ("backend      %s\n", latent_backend_version ());
  int rate = latent_model_get_sample_rate (model);
  if (rate > 0)
    printf ("sample rate  %d Hz\n", rate);
  else
    printf ("sample rate  not stated by the model\n");
  printf ("methods      [in_channels, in_ratio, out_channels, out_ratio]\n");
  for (const char *const *m = latent_model_get_methods (model); *m; m++) {
    LatentMethodInfo info;
    if (latent_model_get_method_info (model, *m, &info, &error))
      printf ("  %-10s [%d, %d, %d, %d]\n", *m, info.in_channels, info.in_ratio,
          info.out_channels, info.out_ratio);
    else {
      printf ("  %-10s unusable: %s\n", *m, error->message);
      g_clear_error (&error);
    }
  }
  for (const char *const *r = latent_model_get_refused_methods (model); *r; r++)
    printf ("  unusable   %s\n", *r);
  printf ("attributes  ");
  const char *const *attrs = latent_model_get_attributes (model);
  if (!attrs[0])
    printf (" none");
  for (; *attrs; attrs++) {
    double value;
    if (latent_model_get_attribute (model, *attrs, &value, NULL))
      printf (" %s=%g", *attrs, value);
    else
      printf (" %s", *attrs);
  }
  printf ("\n");
  latent_model_free (model);
  return 0;
}

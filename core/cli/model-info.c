/* `latent model info FILE`: the lead fills this in (methods, ratios, attributes, rate). */
#include "cli.h"

int
latent_cli_model_info (int argc, char **argv)
{
  if (!latent_cli_parse ("model info", "FILE", NULL, &argc, &argv))
    return 1;
  return latent_cli_fail ("model info: not yet");
}

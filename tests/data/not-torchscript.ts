this is a text file, not a TorchScript archive

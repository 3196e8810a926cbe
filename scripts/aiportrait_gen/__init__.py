"""aiportrait's generator side: model, data, losses, identity nets, training, export and the evaluation yardstick (Debian's /usr/bin/python3 with python3-torch)."""

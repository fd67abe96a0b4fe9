"""NASNet-A and PNASNet-5, as research/slim's `nets.nasnet` package.

Modules (upstream's names): `nasnet_utils` (the cells and their helpers),
`nasnet` (NASNet-A CIFAR, Mobile and Large) and `pnasnet` (PNASNet-5 Mobile
and Large).
"""

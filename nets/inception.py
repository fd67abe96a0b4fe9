"""Every Inception network under one namespace, as TF-Slim's `nets.inception`.

[1] Szegedy et al. Going Deeper with Convolutions. arXiv:1409.4842
[2] Ioffe, Szegedy. Batch Normalization: Accelerating Deep Network Training
    by Reducing Internal Covariate Shift. arXiv:1502.03167
[3] Szegedy et al. Rethinking the Inception Architecture for Computer
    Vision. arXiv:1512.00567
[4] Szegedy, Ioffe, Vanhoucke, Alemi. Inception-v4, Inception-ResNet and the
    Impact of Residual Connections on Learning. arXiv:1602.07261

Re-exports each version's model, base and arg-scope functions: Inception v1
[1], v2 [2], v3 [3], v4 and Inception-ResNet-v2 [4].

Typical use:

   import tf_slim as slim
   from nets import inception

   with slim.arg_scope(inception.inception_v3_arg_scope()):
     logits, end_points = inception.inception_v3(images, 1001,
                                                 is_training=False)
"""

# pylint: disable=unused-import
from nets.inception_resnet_v2 import inception_resnet_v2
from nets.inception_resnet_v2 import inception_resnet_v2_arg_scope
from nets.inception_resnet_v2 import inception_resnet_v2_base
from nets.inception_v1 import inception_v1
from nets.inception_v1 import inception_v1_arg_scope
from nets.inception_v1 import inception_v1_base
from nets.inception_v2 import inception_v2
from nets.inception_v2 import inception_v2_arg_scope
from nets.inception_v2 import inception_v2_base
from nets.inception_v3 import inception_v3
from nets.inception_v3 import inception_v3_arg_scope
from nets.inception_v3 import inception_v3_base
from nets.inception_v4 import inception_v4
from nets.inception_v4 import inception_v4_arg_scope
from nets.inception_v4 import inception_v4_base
# pylint: enable=unused-import

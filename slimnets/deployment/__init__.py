"""Deploying slim models on clones, replicas and parameter servers.

research/slim's `deployment` package on TensorFlow 2.21 graph mode:

  slimnets.deployment.model_deploy  clones of a model in one process and the
                                    device placement of replicas (upstream's
                                    API; variables of every kind on the ps)
  slimnets.deployment.cluster       the ps/worker cluster of
                                    `tf.distribute.Server`s behind
                                    `slimnets train --job_name ...`

Typical use:

   from slimnets.deployment import model_deploy
   config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
"""

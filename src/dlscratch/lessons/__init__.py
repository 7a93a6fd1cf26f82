"""The lecture notes' examples, runnable: ``python -m dlscratch.lessons.seed004_xor [--out DIR]
[--lang ko|en]``.

Each module follows one lecture note (see the ``seeds`` the project is built from) section by
section as ``# %%`` cells, keeps its names and fixes what was broken in it (each fix said in a
comment where it happens). A section's definitions are followed by a cell ``if __name__ ==
"__main__":`` that runs the note's example, prints its numbers and checks them, so importing a
lesson runs nothing and the tests can call its functions. With ``DLSCRATCH_FAST=1`` a lesson
runs in under a minute; its plots (labelled in Korean when a Korean font is installed, else
English, or English with ``--lang en``) go to ``--out`` or a temporary folder, never the
current one. ``notebooks/`` holds each lesson as a notebook generated from it (``python -m
dlscratch.lessons._notebooks``), with each section's output under it.

* :mod:`.seed000_neural_network` - forward pass, softmax, MNIST inference with the book's
  pretrained weights (accuracy 0.9352), losses, numerical gradients, gradient descent,
  simpleNet and TwoLayerNet;
* :mod:`.seed001_cnn` - convolution and pooling by loops, SimpleConvNet trained with the
  Trainer, filters before and after training;
* :mod:`.seed002_perceptron` - the note's make_classification data, the perceptron with sign
  and the perceptron loss, one small network for binary, regression and multi-class tasks;
* :mod:`.seed003_mlp_csv` - a sigmoid MLP on MNIST in Kaggle's CSV format: the note's method as
  written, then each change (scaling, initialisation, mini-batches, step size) with its effect;
* :mod:`.seed004_xor` - the delta rule and its failure on XOR, backprop with MSE and with
  cross-entropy over ten seeds, with the outcome per seed;
* :mod:`.transfer_learning` - a small ResNet pretrained on digits 0-4, its frozen backbone
  reused for digits 5-9 with few images, against training from scratch, then fine-tuned;
* :mod:`.torch_side_by_side` - the same network trained in dlscratch and in PyTorch with the
  same weights and batches: the name-mapping table, equal losses, equal predictions.
"""

"""The lecture notes' examples, runnable: ``python -m dlscratch.lessons.seed004_xor``.

Each module follows one lecture note (see the ``seeds`` the project is built from), keeps its
structure and names, fixes what was broken in it (undefined names, ``sys.path`` hacks, pickles,
dead downloads), and exposes functions that return the numbers the note prints, so the test
suite can check them:

* :mod:`.seed000_neural_network` - forward pass, softmax, MNIST inference with the book's
  pretrained weights (accuracy 0.9352), losses, numerical gradients, gradient descent,
  simpleNet and TwoLayerNet;
* :mod:`.seed001_cnn` - convolution and pooling by loops, SimpleConvNet trained with the
  Trainer, filters before and after training;
* :mod:`.seed002_perceptron` - a perceptron on a two-class blob set;
* :mod:`.seed003_mlp_csv` - a sigmoid MLP on MNIST in Kaggle's CSV format;
* :mod:`.seed004_xor` - the delta rule, and XOR learned by backprop;
* :mod:`.transfer_learning` - a small ResNet pretrained on digits 0-4, its frozen backbone
  reused for digits 5-9 with few images, against training from scratch, then fine-tuned;
* :mod:`.torch_side_by_side` - the same network trained in dlscratch and in PyTorch with the
  same weights and batches: the name-mapping table, equal losses, equal predictions.
"""

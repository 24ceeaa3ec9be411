#!/usr/bin/env bash
# Prints an experiment (on examples/data/iris.csv) whose model has every
# built-in layer and activation: normalization, dense with each activation,
# add, concat, batch_normalization, dropout, flatten and a softmax output.
# No [fit] section: the tests that use it add their own.
printf '[data]\ntrain = examples/data/iris.csv\nlabel = species\nfeatures = sepal_length, sepal_width, petal_length, petal_width\n'
printf '[input]\nshape = 4\n[layer norm]\ntype = normalization\n'
i=0
for act in linear heaviside sign sigmoid tanh relu leaky_relu elu selu softplus; do
  printf '[layer l%d]\ntype = dense\nunits = 6\nactivation = %s\ninputs = norm\n' "$i" "$act"
  i=$((i + 1))
done
printf '[layer sum]\ntype = add\ninputs = l0, l1, l2, l3, l4\n[layer cat]\ntype = concat\ninputs = sum, l5, l6, l7, l8, l9\n'
printf '[layer bn]\ntype = batch_normalization\ninputs = cat\n[layer drop]\ntype = dropout\nrate = 0.3\ninputs = bn\n'
printf '[layer flat]\ntype = flatten\ninputs = drop\n'
printf '[layer out]\ntype = dense\nunits = 3\nactivation = softmax\ninputs = flat\n'
printf '[compile]\nloss = sparse_categorical_crossentropy\noptimizer = adam\n'

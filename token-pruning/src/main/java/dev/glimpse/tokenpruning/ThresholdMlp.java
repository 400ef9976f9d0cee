package dev.glimpse.tokenpruning;

import java.util.List;

/**
 * ATP-LLaVA's tiny threshold predictor: a multilayer perceptron with ReLU between layers and a
 * sigmoid at the end, {@code theta = sigmoid(W_k relu(... relu(W_1 x + b_1) ...) + b_k)}, with one
 * output. Inputs in Glimpse: {@code x = [mean S_self, mean S_cross]} over the visual tokens.
 *
 * @param layers dense layers in order; each layer's input width is the previous one's output width
 */
public record ThresholdMlp(List<Dense> layers) {

    public ThresholdMlp {
        layers = List.copyOf(layers);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("a threshold MLP needs at least one layer");
        }
        for (int i = 1; i < layers.size(); i++) {
            if (layers.get(i).inputs() != layers.get(i - 1).outputs()) {
                throw new IllegalArgumentException("threshold MLP layer " + i + " takes " + layers.get(i).inputs()
                        + " inputs but layer " + (i - 1) + " gives " + layers.get(i - 1).outputs());
            }
        }
        if (layers.getLast().outputs() != 1) {
            throw new IllegalArgumentException("a threshold MLP ends in one output, not " + layers.getLast().outputs());
        }
    }

    public int inputs() {
        return layers.getFirst().inputs();
    }

    /** {@code theta} in (0, 1). */
    public double forward(double... input) {
        if (input.length != inputs()) {
            throw new IllegalArgumentException("threshold MLP takes " + inputs() + " inputs, got " + input.length);
        }
        double[] x = input.clone();
        for (int i = 0; i < layers.size(); i++) {
            x = layers.get(i).apply(x);
            if (i < layers.size() - 1) {
                for (int j = 0; j < x.length; j++) {
                    x[j] = Math.max(0, x[j]);
                }
            }
        }
        return 1 / (1 + Math.exp(-x[0]));
    }

    /**
     * One dense layer, {@code y = W x + b}.
     *
     * @param weight [outputs][inputs], PyTorch {@code nn.Linear.weight} layout
     * @param bias   [outputs]
     */
    public record Dense(double[][] weight, double[] bias) {
        public Dense {
            if (weight.length == 0 || weight.length != bias.length) {
                throw new IllegalArgumentException("dense layer: " + weight.length + " weight rows and " + bias.length + " biases");
            }
            double[][] w = new double[weight.length][];
            for (int o = 0; o < weight.length; o++) {
                if (weight[o].length != weight[0].length || weight[o].length == 0) {
                    throw new IllegalArgumentException("dense layer: weight rows must all have the same, positive length");
                }
                w[o] = weight[o].clone();
            }
            weight = w;
            bias = bias.clone();
        }

        public int inputs() {
            return weight[0].length;
        }

        public int outputs() {
            return weight.length;
        }

        double[] apply(double[] x) {
            double[] y = new double[weight.length];
            for (int o = 0; o < y.length; o++) {
                double s = bias[o];
                for (int i = 0; i < x.length; i++) {
                    s += weight[o][i] * x[i];
                }
                y[o] = s;
            }
            return y;
        }
    }
}

# Hover over the file name below to see its format, parameters and sparsity.
# Hover over F(4,3) or F(2x2, 3x3) to see the Winograd transforms.
from safetensors.numpy import load_file

weights = load_file("models/tiny-cnn.safetensors")

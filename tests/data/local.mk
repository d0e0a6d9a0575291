check_PROGRAMS += tests/data/test_fashion_mnist
tests_data_test_fashion_mnist_SOURCES = tests/data/test_fashion_mnist.c
tests_data_test_fashion_mnist_LDADD = $(TEST_LDADD)
TESTS += tests/data/test_fashion_mnist
check_PROGRAMS += tests/data/test_splits
tests_data_test_splits_SOURCES = tests/data/test_splits.c
tests_data_test_splits_LDADD = $(TEST_LDADD)
TESTS += tests/data/test_splits
# Datasets: the folder dataset reader, the generated demo dataset and `clipmtl mkdemo`.
check_PROGRAMS += tests/data/test_folder_dataset
tests_data_test_folder_dataset_SOURCES = tests/data/test_folder_dataset.c
tests_data_test_folder_dataset_LDADD = $(TEST_LDADD)
TESTS += tests/data/test_folder_dataset tests/data/test_mkdemo.sh
EXTRA_DIST += tests/data/test_mkdemo.sh

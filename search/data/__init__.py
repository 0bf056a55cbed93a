"""Data: a table of samples -> validated manifest -> images decoded once -> fixed folds. No model framework here."""

from fusion_search.data._columns import cell_text
from fusion_search.data._dataset import SearchData, chunked_descriptors, manifest_images, prepare_data, row_chunks
from fusion_search.data._descriptors import DESCRIPTOR_VERSION, image_descriptors
from fusion_search.data._descriptors import NAMES as DESCRIPTOR_NAMES
from fusion_search.data._folds import (
    assign_folds, class_amount, class_name, fold_indices, holdout_mask, inner_folds, rare_class_fixes, stopping_split,
)
from fusion_search.data._images import decode_images, image_chunks
from fusion_search.data._labels import apply_merges, binary_labels, merge_groups
from fusion_search.data._manifest import (
    Manifest, ManifestSpec, category_matrix, image_paths, numeric_matrix, parse_number, read_manifest,
)
from fusion_search.data._prefetch import prefetched
from fusion_search.data._preprocess import CategoryEncoder, NumericScaler
from fusion_search.data._synthetic import LESION_NAMES, disc_image, make_demo_dataset, make_multiclass_dataset
from fusion_search.data._table import Table, read_table

__all__ = [
    "DESCRIPTOR_NAMES", "DESCRIPTOR_VERSION", "CategoryEncoder", "Manifest", "ManifestSpec", "NumericScaler", "SearchData", "Table", "assign_folds",
    "chunked_descriptors", "class_amount", "class_name", "manifest_images", "rare_class_fixes",
    "category_matrix", "decode_images", "disc_image", "fold_indices", "holdout_mask", "image_chunks", "image_descriptors", "image_paths", "inner_folds",
    "LESION_NAMES", "make_demo_dataset", "make_multiclass_dataset", "apply_merges", "binary_labels", "cell_text", "merge_groups", "numeric_matrix", "parse_number", "prefetched", "prepare_data", "read_manifest", "read_table",
    "row_chunks",
    "stopping_split",
]

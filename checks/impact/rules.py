"""Rule ids (DLCM7xx: impact / breaking) of the breaking-change classification.

The `id` of a `BreakingItem` names the change in the style of oasdiff's checks
(`response-property-removed`, `request-parameter-became-required`, ...); the rule id
groups them for configuration and documentation. DLCM702/DLCM703 are the `dlcm check` rules of
the same name (a removed client method / an incompatible client signature); the schema-side
classification uses DLCM751+, clear of the check rules (DLCM701 "dropped-still-used" is what the
report lists as the missing kind `still-referenced`).
"""

TABLE_REMOVED = "DLCM751"  # table-removed
COLUMN_REMOVED = "DLCM752"  # column-removed, primary-key-removed, referenced-by-foreign-key
TABLE_RENAMED = "DLCM753"  # table-renamed
COLUMN_RENAMED = "DLCM754"  # column-renamed
TYPE_NARROWED = "DLCM755"  # column-type-narrowed
TYPE_CHANGED = "DLCM756"  # column-type-changed, response-property-type-changed
TYPE_WIDENED = "DLCM757"  # column-type-widened (readers see a wider type)
BECAME_REQUIRED = "DLCM758"  # column-became-not-null
BECAME_NULLABLE = "DLCM759"  # column-became-nullable, response-property-became-nullable
ENUM_VALUE_REMOVED = "DLCM760"  # enum-value-removed
ADDED_REQUIRED = "DLCM761"  # column-added-required (not null without default)
ENDPOINT_REMOVED = "DLCM762"  # endpoint-removed, endpoint-changed
CLIENT_METHOD_REMOVED = "DLCM702"  # client-method-removed
CLIENT_SIGNATURE = "DLCM703"  # client-method-new-required-param
CLIENT_SIGNATURE_OTHER = "DLCM703"  # client-method-signature-changed
RESPONSE_PROPERTY_REMOVED = "DLCM763"  # response-property-removed / -renamed, endpoint-data-removed

DESCRIPTIONS = {
    TABLE_REMOVED: "a table is dropped",
    COLUMN_REMOVED: "a column is dropped (or something it depends on)",
    TABLE_RENAMED: "a table is renamed",
    COLUMN_RENAMED: "a column is renamed",
    TYPE_NARROWED: "a column's type is narrowed",
    TYPE_CHANGED: "a column's type changes incompatibly",
    TYPE_WIDENED: "a column's type is widened (readers see a wider type)",
    BECAME_REQUIRED: "a column becomes not null",
    BECAME_NULLABLE: "a column becomes nullable",
    ENUM_VALUE_REMOVED: "an enum value is removed",
    ADDED_REQUIRED: "a not-null column without default is added",
    ENDPOINT_REMOVED: "an API endpoint is removed or changed",
    CLIENT_METHOD_REMOVED: "a client method is removed",
    CLIENT_SIGNATURE: "a client method's signature changes (a new required parameter is breaking)",
    RESPONSE_PROPERTY_REMOVED: "an endpoint's request/response loses or renames a property",
}

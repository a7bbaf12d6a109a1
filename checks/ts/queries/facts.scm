; Nodes the per-file extractor (checks/ts/facts.py) looks at. One cursor pass
; collects them all; the Python side then does targeted work per node type.
;
; A single pattern on purpose: the cursor's cost grows with the number of patterns
; (each one is tried at every node), not with the number of alternatives of one.
; `_split_captures` sorts the nodes by type into the groups the extractor works on
; (comments, for `// dlcm-ignore DLCM301: reason`, are read by a second query, only in
; files that mention dlcm-ignore):
;
;   call            call_expression: table access (.from/.rpc), routes and mounts,
;                   HTTP calls of clients, member calls of consumers
;   var             variable_declarator: routers, instances, string constants
;   this_assign     assignment_expression whose left side is `this.x`
;   function        function_declaration, generator_function_declaration,
;                   function_expression, arrow_function, method_definition
;   return          return_statement
;   class           class_declaration, abstract_class_declaration
;   iface / alias   interface_declaration / type_alias_declaration
;   tables_generic  generic_type named Tables, TablesInsert, TablesUpdate or TablesRow
;   lookup          lookup_type: Database['public']['Tables']['users']['Row']
;   string/template path-like literals
;   gen_function, block, class_expr
;                   generator_function, statement_block, class: only to find the
;                   function, block or class around a node by byte range

[
  (call_expression)
  (variable_declarator)
  (assignment_expression)
  (function_declaration)
  (generator_function_declaration)
  (function_expression)
  (arrow_function)
  (method_definition)
  (return_statement)
  (class_declaration)
  (abstract_class_declaration)
  (interface_declaration)
  (type_alias_declaration)
  (generic_type)
  (lookup_type)
  (string)
  (template_string)
  (generator_function)
  (statement_block)
  (class)
] @node
